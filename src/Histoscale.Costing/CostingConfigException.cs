namespace Histoscale.Costing;

/// <summary>
/// Bad input to the cost map or the simulator: a price table row with a missing or invalid field, an unreadable
/// arrival trace, impossible options. The message names the file, the row and the field.
/// </summary>
public sealed class CostingConfigException : Exception
{
    /// <summary>Creates the exception with a message naming what was wrong.</summary>
    public CostingConfigException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming what was wrong and the underlying cause.</summary>
    public CostingConfigException(string message, Exception inner) : base(message, inner)
    {
    }
}
