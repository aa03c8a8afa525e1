namespace Histoscale.Server.Models;

/// <summary>Triton's <c>--model-control-mode</c>: who decides which models are loaded once the server runs.</summary>
public enum ModelControlMode
{
    /// <summary>Every repository model loads at start and stays; load/unload requests are refused (Triton's default).</summary>
    None,

    /// <summary>Only the startup models load (all with <c>*</c>); clients load and unload through the repository API.</summary>
    Explicit,

    /// <summary>Every model loads at start; the repository is rescanned periodically and the server follows it.</summary>
    Poll,
}

/// <summary>
/// A load or unload request while the model control mode is not explicit. Triton answers UNAVAILABLE (503) with
/// the same text in both NONE and POLL modes, which clients match on, so this server does too.
/// </summary>
public sealed class ModelControlDisabledException()
    : Exception("explicit model load / unload is not allowed if polling is enabled");
