namespace Histoscale.Stain;

/// <summary>Bad stain input: an unknown method, a target file that is not valid, or a slide with too little stained tissue to fit.</summary>
public sealed class StainException : Exception
{
    /// <summary>An error with a message that names what was wrong.</summary>
    public StainException(string message) : base(message)
    {
    }

    /// <summary>An error with a message that names what was wrong, and its cause.</summary>
    public StainException(string message, Exception inner) : base(message, inner)
    {
    }
}
