using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Histoscale.Storage.Azure;
using Histoscale.Storage.Gcs;
using Histoscale.Storage.Http;
using Histoscale.Storage.Remote;
using Histoscale.Storage.S3;
using Histoscale.Storage.Strategies;

namespace Histoscale.Storage;

/// <summary>
/// Opens s3://, gs://, az:// and Azure https blob URIs, and every other http(s):// URL (presigned URLs, static file
/// servers), as byte sources: the store's raw reader (or ranged GETs for plain URLs), the shared retry policy, then
/// the data-loading strategies of <see cref="StorageOptions.Strategy"/>. Hosts make one and pass it first in
/// <c>SlideOptions.Sources</c>, so every remote URL takes this one path; it owns the store clients (made on first
/// use) and the disk-cache accounting of every source it opens. Thread-safe.
/// </summary>
public sealed class ObjectStoreProvider(StorageOptions options) : IByteSourceProvider, IDicomWebProvider, IDisposable
{
    private readonly Lazy<Amazon.S3.IAmazonS3> _s3 = new(() => S3Clients.Create(options));
    private readonly Lazy<Google.Cloud.Storage.V1.StorageClient> _gcs = new(() => GcsClients.Create(options));
    // No client timeout: the retry policy bounds each attempt, body included.
    private readonly Lazy<HttpClient> _http = new(() => new HttpClient(options.CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan });
    private readonly DiskCacheIndexes _diskIndexes = new();
    // Servers found to refuse multi-frame requests: every series on them asks one frame per request, told once.
    private readonly DicomWeb.DicomWebServers _dicomWebServers = new(options.Warning);

    /// <summary>
    /// Disposes the clients it made (HTTP, S3, GCS), for a caller that makes providers repeatedly (a benchmark's runs);
    /// the sources and series it opened must be disposed first. A provider that lives as long as the process needs no call.
    /// </summary>
    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
        if (_s3.IsValueCreated)
        {
            _s3.Value.Dispose();
        }
        if (_gcs.IsValueCreated)
        {
            _gcs.Value.Dispose();
        }
    }

    /// <summary>The options the provider was made with (endpoints, credentials, strategy).</summary>
    public StorageOptions Options => options;

    internal Amazon.S3.IAmazonS3 S3 => _s3.Value;

    internal Google.Cloud.Storage.V1.StorageClient Gcs => _gcs.Value;

    /// <summary>Whether <paramref name="uri"/> is an s3://, gs://, az:// or Azure https blob URI, or any other http(s) URL.</summary>
    public bool CanOpen(Uri uri) => StorageUri.TryParse(uri, out _) || IsPlainHttp(uri);

    IByteSource IByteSourceProvider.Open(Uri uri) => Open(uri.OriginalString);

    /// <summary>Opens one object or URL; <see cref="SlideException"/> naming the URI when it is missing, forbidden or unreachable.</summary>
    public StorageSource Open(string uri, StorageStats? stats = null)
    {
        var remote = OpenRemote(uri);
        try
        {
            return new StorageSource(remote, options.Strategy, stats, _diskIndexes);
        }
        catch
        {
            remote.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A DICOMweb series (<c>http(s)://HOST/PATH/studies/{S}/series/{S}</c>) over WADO-RS: the same HTTP client and
    /// retry policy as every other URL, <see cref="StorageOptions.DicomWebToken"/> as a bearer token, and up to
    /// <see cref="StorageOptions.DicomWebFramesPerRequest"/> frames per request (<see cref="StorageOptions.DicomWebPrefetchFramesPerRequest"/>
    /// for prefetch hints). A server that refuses a frame list (HTTP 400/406/501, or one frame for several) is asked
    /// one frame per request from then on, by every series this provider opens on it; <see cref="StorageOptions.Warning"/>
    /// is told once. Nothing is requested until it is read.
    /// </summary>
    public IDicomWebSeries OpenDicomWebSeries(Uri seriesUrl)
    {
        ArgumentNullException.ThrowIfNull(seriesUrl);
        if (!IsPlainHttp(seriesUrl))
        {
            throw new SlideException(seriesUrl.OriginalString, "a DICOMweb series URL must be http(s)");
        }
        return new DicomWeb.DicomWebSeriesClient(_http.Value, seriesUrl, seriesUrl.OriginalString, options, _dicomWebServers);
    }

    /// <summary>
    /// The object's size and validators (ETag, version id or generation, Last-Modified) from one metadata request,
    /// retried like reads, without the head read that opening it for a slide makes. Throws like <see cref="Open"/>.
    /// </summary>
    public SourceIdentity Identify(string uri)
    {
        using var remote = OpenRemote(uri);
        return remote.Identity;
    }

    SourceIdentity? IByteSourceProvider.Identify(Uri uri) => Identify(uri.OriginalString);

    private RemoteSource OpenRemote(string uri)
    {
        var reader = CreateReader(uri);
        try
        {
            return new RemoteSource(reader, options.Strategy.Retry);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private ObjectReader CreateReader(string uri)
    {
        if (StorageUri.TryParse(uri, out var parsed) && parsed is not null)
        {
            if (parsed.Key.Length == 0 || parsed.Key.EndsWith('/'))
            {
                throw new SlideException(uri, "names a bucket or prefix, not one object (expand it into slides with SlideInputs)");
            }
            return CreateReader(parsed, uri);
        }
        if (Uri.TryCreate(uri, UriKind.Absolute, out var url) && IsPlainHttp(url))
        {
            return new HttpObjectReader(_http.Value, url, uri);
        }
        throw new SlideException(uri, "not an object-store URI or http(s) URL (s3://bucket/key, gs://bucket/object, az://container/blob, https://ACCOUNT.blob.core.windows.net/container/blob, https://host/path)");
    }

    /// <summary>
    /// Writes a local file to an object (s3://, az://, gs://, an Azure blob URL) as one committed write: a single PUT
    /// on S3, a block-list commit on Azure, a finished upload on GCS; a reader never sees a half-written object under
    /// <paramref name="uri"/>. An existing object is replaced.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not an object-store URI.</exception>
    public async Task UploadFileAsync(string uri, string path, CancellationToken cancellationToken = default)
    {
        if (!StorageUri.TryParse(uri, out var target) || target is null || target.Key.Length == 0 || target.Key.EndsWith('/'))
        {
            throw new ArgumentException($"'{uri}' is not an object URI (s3://BUCKET/KEY, az://ACCOUNT/CONTAINER/BLOB, gs://BUCKET/OBJECT)", nameof(uri));
        }
        switch (target.Kind)
        {
            case StoreKind.S3:
                await S3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
                {
                    BucketName = target.Container,
                    Key = target.Key,
                    FilePath = path,
                    // S3-compatible stores (emulators, older MinIO/Ceph) often store aws-chunked bodies verbatim.
                    UseChunkEncoding = options.S3ServiceUrl is null,
                }, cancellationToken).ConfigureAwait(false);
                break;
            case StoreKind.AzureBlob:
                await AzureClients.For(target, options).UploadAsync(path, overwrite: true, cancellationToken).ConfigureAwait(false);
                break;
            case StoreKind.Gcs:
                await using (var file = File.OpenRead(path))
                {
                    await Gcs.UploadObjectAsync(target.Container, target.Key, null, file, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                break;
            default:
                throw new ArgumentException($"'{uri}': unsupported store {target.Kind}", nameof(uri));
        }
    }

    /// <summary>
    /// Downloads an object (s3://, az://, gs://, an Azure blob URL) to a local file: written to
    /// <c><paramref name="path"/>.partial</c> and renamed into place, so <paramref name="path"/> never holds half an
    /// object. An existing file is replaced. False, and no file written, when there is no such object.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not an object-store URI.</exception>
    public async Task<bool> DownloadFileAsync(string uri, string path, CancellationToken cancellationToken = default)
    {
        var target = ObjectUri(uri);
        var partial = path + ".partial";
        try
        {
            switch (target.Kind)
            {
                case StoreKind.S3:
                    try
                    {
                        using var response = await S3.GetObjectAsync(target.Container, target.Key, cancellationToken).ConfigureAwait(false);
                        await response.WriteResponseStreamToFileAsync(partial, append: false, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Amazon.S3.AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
                    {
                        return false;
                    }
                    break;
                case StoreKind.AzureBlob:
                    try
                    {
                        await AzureClients.For(target, options).DownloadToAsync(partial, cancellationToken).ConfigureAwait(false);
                    }
                    catch (global::Azure.RequestFailedException ex) when (ex.Status == 404)
                    {
                        return false;
                    }
                    break;
                case StoreKind.Gcs:
                    try
                    {
                        await using var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None);
                        await Gcs.DownloadObjectAsync(target.Container, target.Key, file, cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (Google.GoogleApiException ex) when (ex.HttpStatusCode == System.Net.HttpStatusCode.NotFound)
                    {
                        return false;
                    }
                    break;
                default:
                    throw new ArgumentException($"'{uri}': unsupported store {target.Kind}", nameof(uri));
            }
            File.Move(partial, path, overwrite: true);
            return true;
        }
        finally
        {
            File.Delete(partial); // gone once moved; what a failed or missing download left otherwise
        }
    }

    /// <summary>Deletes an object (s3://, az://, gs://, an Azure blob URL); no error when there is none.</summary>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not an object-store URI.</exception>
    public async Task DeleteObjectAsync(string uri, CancellationToken cancellationToken = default)
    {
        var target = ObjectUri(uri);
        switch (target.Kind)
        {
            case StoreKind.S3:
                await S3.DeleteObjectAsync(target.Container, target.Key, cancellationToken).ConfigureAwait(false);
                break;
            case StoreKind.AzureBlob:
                await AzureClients.For(target, options).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                break;
            case StoreKind.Gcs:
                try
                {
                    await Gcs.DeleteObjectAsync(target.Container, target.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (Google.GoogleApiException ex) when (ex.HttpStatusCode == System.Net.HttpStatusCode.NotFound)
                {
                }
                break;
            default:
                throw new ArgumentException($"'{uri}': unsupported store {target.Kind}", nameof(uri));
        }
    }

    /// <summary>
    /// The objects whose keys start with the key of <paramref name="uriPrefix"/>, which may end anywhere, not only
    /// at a folder (<c>s3://results/runs/one/.histoscale/case-7.</c> lists that slide's files alone), in key order.
    /// One listing request per thousand objects or so.
    /// </summary>
    /// <exception cref="SlideException">The prefix is not a store URI, or it cannot be listed (the message names it and the store's error).</exception>
    public async Task<IReadOnlyList<Inputs.ListedObject>> ListAsync(string uriPrefix, CancellationToken cancellationToken = default)
    {
        if (!StorageUri.TryParse(uriPrefix, out var prefix) || prefix is null)
        {
            throw new SlideException(uriPrefix, "not an s3://, az:// or gs:// prefix");
        }
        var listed = await Inputs.ObjectListing.ListObjectsAsync(prefix, this, cancellationToken).ConfigureAwait(false);
        return [.. listed.OrderBy(o => o.Key, StringComparer.Ordinal)];
    }

    private static StorageUri ObjectUri(string uri) =>
        StorageUri.TryParse(uri, out var target) && target is not null && target.Key.Length > 0 && !target.Key.EndsWith('/')
            ? target
            : throw new ArgumentException($"'{uri}' is not an object URI (s3://BUCKET/KEY, az://CONTAINER/BLOB, gs://BUCKET/OBJECT)", nameof(uri));

    /// <summary>Any http(s) URL; Azure blob URLs are claimed as store URIs before this is asked (Azure SDK: Azure AD, SAS).</summary>
    private static bool IsPlainHttp(Uri uri) => uri.IsAbsoluteUri && uri.Scheme is "http" or "https";

    private ObjectReader CreateReader(StorageUri uri, string name) => uri.Kind switch
    {
        StoreKind.S3 => new S3ObjectReader(S3, uri.Container, uri.Key, name),
        StoreKind.AzureBlob => new AzureBlobReader(AzureClients.For(uri, options), name),
        StoreKind.Gcs => new GcsObjectReader(Gcs, uri.Container, uri.Key, name),
        _ => throw new SlideException(name, $"unsupported store {uri.Kind}"),
    };
}
