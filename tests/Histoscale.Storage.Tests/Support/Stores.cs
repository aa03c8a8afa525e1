using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Azure.Storage.Blobs;

namespace Histoscale.Storage.Tests.Support;

/// <summary>
/// The three stores the tests read from, each seeded with the test slide: S3 on s3rver and Azure Blob on Azurite
/// (both started by .ci/emulators.sh, which writes .ci/emulators.env), GCS on <see cref="FakeGcsServer"/>.
/// Setting the SDKs' environment variables here is safe because this test assembly is the only user.
/// </summary>
public static class Stores
{
    public const string Bucket = "histoscale-test";
    public const string SlideKey = "slides/small.svs";

    private static readonly Lazy<Dictionary<string, string>> Env = new(LoadEnv);
    private static readonly Lazy<string?> S3Ready = new(SeedS3);
    private static readonly Lazy<string?> AzureReady = new(SeedAzure);
    private static readonly Lazy<FakeGcsServer> Gcs = new(StartGcs);

    public static IEnumerable<object[]> All => [["s3"], ["az"], ["gs"]];

    /// <summary>Skips the test (with the reason) unless the store's emulator is up and seeded.</summary>
    public static void Require(string store)
    {
        var problem = store switch
        {
            "s3" => S3Ready.Value,
            "az" => AzureReady.Value,
            _ => Gcs.Value is null ? "fake GCS server failed" : null,
        };
        Skip.If(problem is not null, problem);
    }

    public static string Uri(string store, string key = SlideKey) => $"{store}://{Bucket}/{key}";

    /// <summary>Uploads extra objects (listing tests).</summary>
    public static void Put(string store, string key, byte[] bytes)
    {
        Require(store);
        switch (store)
        {
            case "s3":
                S3().PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false }).GetAwaiter().GetResult();
                break;
            case "az":
                new BlobContainerClient(Env.Value["HISTOSCALE_AZURE_CONNECTION_STRING"], Bucket).GetBlobClient(key).Upload(new BinaryData(bytes), overwrite: true);
                break;
            default:
                Gcs.Value.Put(Bucket, key, bytes);
                break;
        }
    }

    private static Dictionary<string, string> LoadEnv()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, ".ci", "emulators.env");
            if (File.Exists(file))
            {
                foreach (var line in File.ReadAllLines(file))
                {
                    var eq = line.IndexOf('=');
                    if (eq > 0 && !line.StartsWith('#'))
                    {
                        env[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
                    }
                }
                break;
            }
        }
        foreach (var key in new[] { "HISTOSCALE_S3_ENDPOINT", "HISTOSCALE_S3_ACCESS_KEY", "HISTOSCALE_S3_SECRET_KEY", "HISTOSCALE_AZURE_CONNECTION_STRING" })
        {
            if (Environment.GetEnvironmentVariable(key) is { Length: > 0 } v)
            {
                env[key] = v;
            }
        }
        return env;
    }

    private static bool Answers(string url)
    {
        try
        {
            var u = new System.Uri(url);
            using var tcp = new System.Net.Sockets.TcpClient();
            return tcp.ConnectAsync(u.Host, u.Port).Wait(TimeSpan.FromSeconds(2)) && tcp.Connected;
        }
        catch (Exception ex) when (ex is AggregateException or System.Net.Sockets.SocketException or UriFormatException)
        {
            return false;
        }
    }

    private static AmazonS3Client S3() => Histoscale.Storage.S3.S3Clients.Create(Options());

    /// <summary>The store options the CLI would build from this process's environment (which the seeding sets).</summary>
    public static StorageOptions Options() => Histoscale.Cli.HostContext.FromEnvironment().Storage;

    private static string? SeedS3()
    {
        if (!Env.Value.TryGetValue("HISTOSCALE_S3_ENDPOINT", out var endpoint) || !Answers(endpoint))
        {
            return "S3 emulator (s3rver) not running: run `bash .ci/emulators.sh` first";
        }
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL", endpoint);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", Env.Value["HISTOSCALE_S3_ACCESS_KEY"]);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", Env.Value["HISTOSCALE_S3_SECRET_KEY"]);
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
        var client = S3();
        try
        {
            client.PutBucketAsync(Bucket).GetAwaiter().GetResult();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            // already there from an earlier run
        }
        // s3rver stores aws-chunked (streaming-signature) uploads verbatim, so upload with a plain signed payload.
        client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = SlideKey, FilePath = TestSlide.Path, UseChunkEncoding = false }).GetAwaiter().GetResult();
        return null;
    }

    private static string? SeedAzure()
    {
        if (!Env.Value.TryGetValue("HISTOSCALE_AZURE_CONNECTION_STRING", out var cs) || !Answers(BlobEndpoint(cs)))
        {
            return "Azure Blob emulator (Azurite) not running: run `bash .ci/emulators.sh` first";
        }
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", cs);
        var container = new BlobContainerClient(cs, Bucket);
        container.CreateIfNotExists();
        container.GetBlobClient(SlideKey).Upload(TestSlide.Path, overwrite: true);
        return null;
    }

    private static string BlobEndpoint(string connectionString) =>
        connectionString.Split(';').Select(p => p.Split('=', 2)).Where(kv => kv.Length == 2 && kv[0] == "BlobEndpoint").Select(kv => kv[1]).FirstOrDefault() ?? "http://127.0.0.1:10000";

    private static FakeGcsServer StartGcs()
    {
        var server = new FakeGcsServer();
        server.Put(Bucket, SlideKey, TestSlide.Bytes);
        Environment.SetEnvironmentVariable("STORAGE_EMULATOR_HOST", server.Host);
        return server;
    }
}
