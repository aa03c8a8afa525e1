namespace Histoscale.Storage.Inputs;

/// <summary>An object found under a prefix by <see cref="SlideInputs.ListObjectsAsync"/>.</summary>
/// <param name="Uri">Its URI, in the form the prefix was given (s3://, az://, gs:// or an Azure https URL).</param>
/// <param name="Key">Its full key (object or blob name) in the bucket or container.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="ETag">What the store says its content is: the ETag (S3, Azure) or generation (GCS); null when none is given.</param>
public sealed record ListedObject(string Uri, string Key, long Length, string? ETag);
