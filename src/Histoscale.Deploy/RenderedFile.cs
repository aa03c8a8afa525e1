namespace Histoscale.Deploy;

/// <summary>One rendered file: its path relative to the output folder (forward slashes) and its text.</summary>
/// <param name="Path">Relative path, e.g. <c>k8s/base/server-deployment.yaml</c>.</param>
/// <param name="Content">The file's text (YAML or JSON).</param>
public sealed record RenderedFile(string Path, string Content);
