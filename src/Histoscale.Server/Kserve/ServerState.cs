using System.Reflection;

namespace Histoscale.Server.Kserve;

/// <summary>What the health and server-metadata endpoints report; readiness drops as soon as shutdown begins.</summary>
internal sealed class ServerState
{
    private volatile bool _ready;

    public const string Name = "histoscale";

    /// <summary>Triton extensions this server implements (KServe's server metadata "extensions").</summary>
    public static readonly IReadOnlyList<string> Extensions =
    [
        "binary_tensor_data",
        "model_configuration",
        "model_repository",
        "schedule_policy",
        "statistics",
        "system_shared_memory",
    ];

    public static string Version { get; } =
        typeof(ServerState).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Live: the process is up and answering (always true while it answers).</summary>
    public bool Live => true;

    /// <summary>Ready: startup loading has finished and shutdown has not begun.</summary>
    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }
}
