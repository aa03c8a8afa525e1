using Histoscale.Slides;
using Histoscale.Slides.Caching;
using Histoscale.Storage;

namespace Histoscale.Cli;

/// <summary>
/// What the libraries are configured with in this process, built from the environment: the host is the only place
/// that reads it (the libraries take options). Object stores: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and AWS_REGION
/// (S3-compatible stores; AWS_ENDPOINT_URL_SQS for sqs:// queues, PUBSUB_EMULATOR_HOST for gcppubsub://), AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT, STORAGE_EMULATOR_HOST (GCS
/// emulator), HISTOSCALE_STORAGE_STRATEGY (data-loading strategy); HISTOSCALE_CACHE_MB sizes the decoded-tile cache
/// of the slides a verb opens; HISTOSCALE_ADMIN_TOKEN bootstraps the archive's admin; HISTOSCALE_DICOMWEB_TOKEN (or the
/// --dicomweb-token flag, which wins) is the bearer token for DICOMweb slide URLs, HISTOSCALE_DICOMWEB_FRAMES the
/// most frames per WADO-RS request (default 8; 1 turns multi-frame requests off). The SDKs' own credential chains read their usual variables themselves.
/// </summary>
public sealed class HostContext
{
    private HostContext(StorageOptions storage, long cacheBytes, string? adminToken, string? sqsServiceUrl, string? pubSubEmulatorHost)
    {
        PubSubEmulatorHost = pubSubEmulatorHost;
        SqsServiceUrl = sqsServiceUrl;
        AdminToken = adminToken;
        Storage = storage;
        ObjectStores = new ObjectStoreProvider(storage);
        // The store provider claims plain http(s) URLs too, so every remote slide gets the same strategies and retries.
        Slides = new SlideOptions { Cache = new TileCache(cacheBytes), Sources = [ObjectStores] };
    }

    public StorageOptions Storage { get; }

    /// <summary>The --dicomweb-token flag of the running invocation (set by <see cref="CliRunner"/>); wins over HISTOSCALE_DICOMWEB_TOKEN.</summary>
    internal static AsyncLocal<string?> DicomWebTokenFlag { get; } = new();

    /// <summary>The running invocation's error writer (set by <see cref="CliRunner"/>): where storage warnings go; Console.Error when unset.</summary>
    internal static AsyncLocal<TextWriter?> ErrorWriter { get; } = new();

    /// <summary>AWS_ENDPOINT_URL_SQS (or AWS_ENDPOINT_URL): an SQS endpoint for sqs:// queues instead of AWS's (an emulator).</summary>
    public string? SqsServiceUrl { get; }

    /// <summary>PUBSUB_EMULATOR_HOST: a Pub/Sub emulator (HOST:PORT) for gcppubsub:// queues instead of Google's service.</summary>
    public string? PubSubEmulatorHost { get; }

    /// <summary>HISTOSCALE_ADMIN_TOKEN: a bootstrap admin token for the archive served by <c>serve --slides</c>.</summary>
    public string? AdminToken { get; }

    /// <summary>s3://, az://, gs://, Azure https blob URIs and every other http(s) URL, with the configured strategy.</summary>
    public ObjectStoreProvider ObjectStores { get; }

    /// <summary>How every verb opens slides: object stores and http(s) through <see cref="ObjectStores"/>, local files; one bounded cache.</summary>
    public SlideOptions Slides { get; }

    public static HostContext FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary>One line per warning (e.g. a DICOMweb server refusing multi-frame requests), from any thread.</summary>
    private static Action<string> Warn(TextWriter writer) => message =>
    {
        lock (writer)
        {
            writer.WriteLine($"histoscale: warning: {message}");
        }
    };

    /// <summary>As <see cref="FromEnvironment"/>, from any lookup (tests pass a dictionary's).</summary>
    public static HostContext FromVariables(Func<string, string?> get)
    {
        string? Value(string name) => get(name) is { Length: > 0 } v ? v : null;
        StorageStrategy strategy;
        try
        {
            strategy = Value("HISTOSCALE_STORAGE_STRATEGY") is { } spec ? StorageStrategy.Parse(spec) : StorageStrategy.Default;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            throw new InputException($"HISTOSCALE_STORAGE_STRATEGY: {ex.Message}");
        }
        var storage = new StorageOptions
        {
            Strategy = strategy,
            S3ServiceUrl = Value("AWS_ENDPOINT_URL_S3") ?? Value("AWS_ENDPOINT_URL"),
            S3Region = Value("AWS_REGION"),
            AzureConnectionString = Value("AZURE_STORAGE_CONNECTION_STRING"),
            AzureAccount = Value("AZURE_STORAGE_ACCOUNT"),
            GcsEmulatorHost = Value("STORAGE_EMULATOR_HOST"),
            DicomWebToken = DicomWebTokenFlag.Value ?? Value("HISTOSCALE_DICOMWEB_TOKEN"),
            Warning = Warn(ErrorWriter.Value ?? Console.Error),
        };
        if (Value("HISTOSCALE_DICOMWEB_FRAMES") is { } frames)
        {
            storage = storage with
            {
                DicomWebFramesPerRequest = int.TryParse(frames, out var f) && f is >= 1 and <= 1024 ? f : throw new InputException($"HISTOSCALE_DICOMWEB_FRAMES '{frames}': expected a whole number from 1 to 1024"),
            };
        }
        var cacheBytes = TileCache.DefaultCapacityBytes;
        if (Value("HISTOSCALE_CACHE_MB") is { } mb)
        {
            cacheBytes = long.TryParse(mb, out var m) && m >= 0 ? m * 1024 * 1024 : throw new InputException($"HISTOSCALE_CACHE_MB '{mb}': expected a whole number of MiB, 0 or more");
        }
        return new HostContext(storage, cacheBytes, Value("HISTOSCALE_ADMIN_TOKEN"), Value("AWS_ENDPOINT_URL_SQS") ?? Value("AWS_ENDPOINT_URL"), Value("PUBSUB_EMULATOR_HOST"));
    }
}
