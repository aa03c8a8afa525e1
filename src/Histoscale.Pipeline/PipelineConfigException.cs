namespace Histoscale.Pipeline;

/// <summary>
/// A pipeline setting or destination the user must fix (bad option value, unwritable output folder, no slides
/// found). The CLI maps every *ConfigException to exit code 2, like model-config errors.
/// </summary>
public sealed class PipelineConfigException(string message, Exception? inner = null) : Exception(message, inner);
