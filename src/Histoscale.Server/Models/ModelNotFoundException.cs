namespace Histoscale.Server.Models;

/// <summary>A request names a model or version that is not loaded. Triton: 404 / NOT_FOUND.</summary>
public sealed class ModelNotFoundException(string message) : Exception(message);
