using Amazon.S3;
using Amazon.S3.Model;
using Azure.Storage.Blobs;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// An object-store output prefix of its own for one worker test, on the store's emulator: S3 on s3rver and Azure
/// Blob on Azurite (.ci/emulators.sh writes .ci/emulators.env), GCS on the storage tests' loopback
/// <see cref="FakeGcsServer"/> (one for the test process). Gives what a worker process needs to reach it (the usual
/// variables) and reads back what is there. Skips the test, saying how to start the emulator, when it is not answering.
/// </summary>
internal sealed class OutputStore : IDisposable
{
    public const string S3 = "s3";
    public const string Azure = "az";
    public const string Gcs = "gs";

    private static readonly Lazy<FakeGcsServer> GcsFake = new(() => new FakeGcsServer());

    private readonly Func<Task<IReadOnlyDictionary<string, long>>> _list;
    private readonly Func<string, Task<byte[]?>> _get;
    private readonly IDisposable? _client;

    private OutputStore(string prefix, Dictionary<string, string> environment, Func<Task<IReadOnlyDictionary<string, long>>> list, Func<string, Task<byte[]?>> get, IDisposable? client = null)
    {
        _client = client;
        Prefix = prefix;
        Environment = environment;
        _list = list;
        _get = get;
    }

    /// <summary>The output prefix for <c>submit --out</c>, ending in '/'.</summary>
    public string Prefix { get; }

    /// <summary>The variables a worker process reads to reach the store (credentials, endpoint).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Every object under the prefix: key relative to the prefix → size.</summary>
    public Task<IReadOnlyDictionary<string, long>> ListAsync() => _list();

    /// <summary>An object's bytes (key relative to the prefix), or null when there is none.</summary>
    public Task<byte[]?> GetAsync(string key) => _get(key);

    public void Dispose() => _client?.Dispose();

    /// <summary>A fresh bucket or container with the prefix runs/one/ on the store's emulator, or a skip.</summary>
    public static async Task<OutputStore> CreateAsync(string kind)
    {
        var bucket = $"results-{Guid.NewGuid():N}"[..30];
        const string root = "runs/one/";
        switch (kind)
        {
            case S3:
                {
                    var s3 = Brokers.S3Emulator;
                    Skip.If(s3 is null, "s3rver not started: no .ci/emulators.env (run `bash .ci/emulators.sh start`; CI's .ci/run does)");
                    var (endpoint, key, secret) = s3!.Value;
                    var client = new AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials(key, secret),
                        new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
                    try
                    {
                        await client.PutBucketAsync(bucket);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or Amazon.Runtime.AmazonServiceException)
                    {
                        client.Dispose();
                        Skip.If(true, $"s3rver not answering at {endpoint}: {ex.Message}");
                    }
                    return new OutputStore($"s3://{bucket}/{root}",
                        new() { ["AWS_ENDPOINT_URL_S3"] = endpoint, ["AWS_ACCESS_KEY_ID"] = key, ["AWS_SECRET_ACCESS_KEY"] = secret, ["AWS_REGION"] = "us-east-1" },
                        async () =>
                        {
                            var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = root });
                            return (listed.S3Objects ?? []).ToDictionary(o => o.Key[root.Length..], o => o.Size ?? 0);
                        },
                        async name =>
                        {
                            try
                            {
                                using var obj = await client.GetObjectAsync(bucket, root + name);
                                using var bytes = new MemoryStream();
                                await obj.ResponseStream.CopyToAsync(bytes);
                                return bytes.ToArray();
                            }
                            catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
                            {
                                return null;
                            }
                        },
                        client);
                }
            case Azure:
                {
                    var cs = Brokers.AzureBlobConnectionString;
                    Skip.If(cs is null, "Azurite not started: no HISTOSCALE_AZURE_CONNECTION_STRING in .ci/emulators.env (run `bash .ci/emulators.sh start`; CI's .ci/run does)");
                    var container = new BlobContainerClient(cs, bucket);
                    try
                    {
                        await container.CreateIfNotExistsAsync();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or global::Azure.RequestFailedException or AggregateException)
                    {
                        Skip.If(true, $"Azurite's blob service not answering: {ex.Message}");
                    }
                    return new OutputStore($"az://{bucket}/{root}",
                        new() { ["AZURE_STORAGE_CONNECTION_STRING"] = cs! },
                        async () =>
                        {
                            var found = new Dictionary<string, long>();
                            await foreach (var blob in container.GetBlobsAsync(global::Azure.Storage.Blobs.Models.BlobTraits.None, global::Azure.Storage.Blobs.Models.BlobStates.None, root, CancellationToken.None))
                            {
                                found[blob.Name[root.Length..]] = blob.Properties.ContentLength ?? 0;
                            }
                            return found;
                        },
                        async name =>
                        {
                            var blob = container.GetBlobClient(root + name);
                            if (!await blob.ExistsAsync())
                            {
                                return null;
                            }
                            return (await blob.DownloadContentAsync()).Value.Content.ToArray();
                        });
                }
            default:
                {
                    var fake = GcsFake.Value;
                    return new OutputStore($"gs://{bucket}/{root}",
                        new() { ["STORAGE_EMULATOR_HOST"] = fake.Host },
                        () => Task.FromResult<IReadOnlyDictionary<string, long>>(fake.Names(bucket, root).ToDictionary(n => n[root.Length..], n => (long)(fake.Get(bucket, n)?.Length ?? 0))),
                        name => Task.FromResult(fake.Get(bucket, root + name)));
                }
        }
    }
}
