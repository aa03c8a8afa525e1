namespace Histoscale.Deploy;

/// <summary>
/// Bad input to <c>deploy render</c>: an unknown target, cloud, GPU or architecture, a GPU the target cannot run,
/// an invalid size or an unreadable field of deploy.yaml. The message names the flag or field.
/// </summary>
public sealed class DeployConfigException : Exception
{
    /// <summary>Creates the exception with a message naming what was wrong.</summary>
    public DeployConfigException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming what was wrong and the underlying cause.</summary>
    public DeployConfigException(string message, Exception inner) : base(message, inner)
    {
    }
}
