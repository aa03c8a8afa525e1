namespace Histoscale.Server.Kserve;

/// <summary>Triton's restricted-API groups (<c>--http-restricted-api</c>, <c>--grpc-restricted-protocol</c>).</summary>
public enum ApiCategory
{
    /// <summary>Server and model liveness/readiness (/v2/health, ServerLive/ServerReady/ModelReady).</summary>
    Health,
    /// <summary>Server and model metadata (GET /v2, /v2/models/NAME).</summary>
    Metadata,
    /// <summary>Inference requests (POST .../infer, ModelInfer, ModelStreamInfer).</summary>
    Inference,
    /// <summary>System and CUDA shared-memory registration (refused by this server either way).</summary>
    SharedMemory,
    /// <summary>Model configuration (/config, ModelConfig).</summary>
    ModelConfig,
    /// <summary>Repository index and model load/unload.</summary>
    ModelRepository,
    /// <summary>Inference statistics (/stats, ModelStatistics).</summary>
    Statistics,
    /// <summary>Trace settings.</summary>
    Trace,
    /// <summary>Log settings.</summary>
    Logging,
}

/// <summary>The header (name and exact value) a request of a restricted category must carry.</summary>
public sealed record ApiRestriction(string Header, string Value);

/// <summary>
/// Which API categories of one transport need a header, parsed from Triton's syntax
/// <c>API_1,API_2:KEY=VALUE</c> (one spec per group; a category may be in one group only). gRPC specs get Triton's
/// <c>triton-grpc-protocol-</c> prefix on the key, as HTTP/2 metadata keys are lowercase and Triton namespaces them.
/// </summary>
public sealed class RestrictedApis
{
    /// <summary>The prefix Triton puts before a gRPC restriction key.</summary>
    public const string GrpcHeaderPrefix = "triton-grpc-protocol-";

    /// <summary>Nothing restricted (Triton's default).</summary>
    public static readonly RestrictedApis None = new(new Dictionary<ApiCategory, ApiRestriction>());

    private static readonly (string Name, ApiCategory Category)[] Names =
    [
        ("health", ApiCategory.Health),
        ("metadata", ApiCategory.Metadata),
        ("inference", ApiCategory.Inference),
        ("shared-memory", ApiCategory.SharedMemory),
        ("model-config", ApiCategory.ModelConfig),
        ("model-repository", ApiCategory.ModelRepository),
        ("statistics", ApiCategory.Statistics),
        ("trace", ApiCategory.Trace),
        ("logging", ApiCategory.Logging),
    ];

    private readonly IReadOnlyDictionary<ApiCategory, ApiRestriction> _restrictions;

    private RestrictedApis(IReadOnlyDictionary<ApiCategory, ApiRestriction> restrictions) => _restrictions = restrictions;

    /// <summary>True when no category is restricted.</summary>
    public bool IsEmpty => _restrictions.Count == 0;

    /// <summary>Triton's category names, in its order.</summary>
    public static IReadOnlyList<string> CategoryNames { get; } = [.. Names.Select(n => n.Name)];

    /// <summary>The restricted categories by header (Triton's names), for showing the configuration.</summary>
    public IEnumerable<(IReadOnlyList<string> Categories, ApiRestriction Restriction)> Groups =>
        _restrictions.GroupBy(p => p.Value).Select(g => ((IReadOnlyList<string>)[.. Names.Where(n => g.Any(p => p.Key == n.Category)).Select(n => n.Name)], g.Key));

    /// <summary>The restriction on a category, or null when it is open.</summary>
    public ApiRestriction? For(ApiCategory category) => _restrictions.GetValueOrDefault(category);

    /// <summary>
    /// Parses specs like <c>model-repository,shared-memory:admin-key=secret</c>. Throws <see cref="FormatException"/>
    /// saying what is wrong with which spec.
    /// </summary>
    public static RestrictedApis Parse(IEnumerable<string> specs, string headerPrefix = "")
    {
        var restrictions = new Dictionary<ApiCategory, ApiRestriction>();
        foreach (var spec in specs)
        {
            var colon = spec.IndexOf(':', StringComparison.Ordinal);
            var equals = colon < 0 ? -1 : spec.IndexOf('=', colon + 1);
            if (colon <= 0 || equals < 0)
            {
                throw new FormatException($"'{spec}' is not API_1,API_2,...:KEY=VALUE");
            }
            var key = spec[(colon + 1)..equals].Trim();
            var value = spec[(equals + 1)..];
            if (key.Length == 0 || !key.All(IsHeaderNameChar))
            {
                throw new FormatException($"'{spec}': '{key}' is not a usable header name");
            }
            if (value.Length == 0)
            {
                // An empty expected value would make the restriction depend on how clients send empty headers.
                throw new FormatException($"'{spec}': the header value must not be empty");
            }
            var restriction = new ApiRestriction(headerPrefix + key, value);
            foreach (var part in spec[..colon].Split(',', StringSplitOptions.TrimEntries))
            {
                var found = Array.FindIndex(Names, n => n.Name == part);
                if (found < 0)
                {
                    throw new FormatException($"'{spec}': unknown API '{part}' (expected {string.Join(", ", CategoryNames)})");
                }
                if (!restrictions.TryAdd(Names[found].Category, restriction))
                {
                    throw new FormatException($"'{spec}': API '{part}' is already in another group");
                }
            }
        }
        return restrictions.Count == 0 ? None : new RestrictedApis(restrictions);
    }

    /// <summary>The category of a REST request path (Triton's grouping), or null for paths outside the groups.</summary>
    public static ApiCategory? CategorizeHttp(string path)
    {
        var s = path.Trim('/').Split('/');
        if (s.Length == 0 || s[0] != "v2")
        {
            return null;
        }
        if (s.Length == 1)
        {
            return ApiCategory.Metadata; // GET /v2
        }
        switch (s[1])
        {
            case "health":
                return ApiCategory.Health;
            case "repository":
                return ApiCategory.ModelRepository;
            case "systemsharedmemory" or "cudasharedmemory":
                return ApiCategory.SharedMemory;
            case "trace":
                return ApiCategory.Trace;
            case "logging":
                return ApiCategory.Logging;
            case "models":
                break;
            default:
                return null;
        }
        if (s.Length == 2)
        {
            return null;
        }
        if (s.Length == 3 && s[2] == "stats")
        {
            return ApiCategory.Statistics; // GET /v2/models/stats
        }
        // /v2/models/NAME[/versions/V][/ACTION]
        var rest = s.Length >= 5 && s[3] == "versions" ? s[5..] : s[3..];
        return rest switch
        {
            [] => ApiCategory.Metadata,
            ["ready"] => ApiCategory.Health,
            ["config"] => ApiCategory.ModelConfig,
            ["stats"] => ApiCategory.Statistics,
            ["infer"] or ["generate"] or ["generate_stream"] => ApiCategory.Inference,
            ["trace", "setting"] => ApiCategory.Trace,
            _ => null,
        };
    }

    /// <summary>The category of a gRPC method of <c>inference.GRPCInferenceService</c> (by path), or null.</summary>
    public static ApiCategory? CategorizeGrpc(string path)
    {
        const string Service = "/inference.GRPCInferenceService/";
        if (!path.StartsWith(Service, StringComparison.Ordinal))
        {
            return path.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal) ? ApiCategory.Health : null;
        }
        return path[Service.Length..] switch
        {
            "ServerLive" or "ServerReady" or "ModelReady" => ApiCategory.Health,
            "ServerMetadata" or "ModelMetadata" => ApiCategory.Metadata,
            "ModelInfer" or "ModelStreamInfer" => ApiCategory.Inference,
            "ModelConfig" => ApiCategory.ModelConfig,
            "ModelStatistics" => ApiCategory.Statistics,
            "RepositoryIndex" or "RepositoryModelLoad" or "RepositoryModelUnload" => ApiCategory.ModelRepository,
            "SystemSharedMemoryStatus" or "SystemSharedMemoryRegister" or "SystemSharedMemoryUnregister"
                or "CudaSharedMemoryStatus" or "CudaSharedMemoryRegister" or "CudaSharedMemoryUnregister" => ApiCategory.SharedMemory,
            "TraceSetting" => ApiCategory.Trace,
            "LogSettings" => ApiCategory.Logging,
            _ => null,
        };
    }

    // RFC 9110 token characters.
    private static bool IsHeaderNameChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
