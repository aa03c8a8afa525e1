namespace Histoscale.Server.Models;

/// <summary>A model's state as Triton's repository index reports it.</summary>
public enum ModelState
{
    /// <summary>LOADING: being loaded.</summary>
    Loading,
    /// <summary>READY: serving requests.</summary>
    Ready,
    /// <summary>UNLOADING: draining and being unloaded.</summary>
    Unloading,
    /// <summary>UNAVAILABLE: not loaded, unloaded, or failed to load (the index gives the reason).</summary>
    Unavailable,
}

/// <summary>One line of the repository index: a model (and version when loaded), its state and why.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Version">The loaded version, or empty when none is loaded.</param>
/// <param name="State">The state, or null for a model in the repository that was never loaded.</param>
/// <param name="Reason">Why it is in that state (e.g. the load error); may be empty.</param>
public sealed record ModelIndexEntry(string Name, string Version, ModelState? State, string Reason)
{
    /// <summary>Triton's state names: READY, LOADING, UNLOADING, UNAVAILABLE.</summary>
    public string StateName => State?.ToString().ToUpperInvariant() ?? "";
}
