namespace Histoscale.Slides;

/// <summary>
/// The one error type for unreadable or invalid slides. It names what a user needs to find the fault:
/// the file, and where known the level, the tile and the cause.
/// </summary>
public sealed class SlideException : Exception
{
    public SlideException(string file, string cause, int? level = null, (long Col, long Row)? tile = null, Exception? inner = null)
        : base(Format(file, cause, level, tile), inner)
    {
        File = file;
        Cause = cause;
        Level = level;
        Tile = tile;
    }

    /// <summary>Path or URI of the slide.</summary>
    public string File { get; }

    public string Cause { get; }

    public int? Level { get; }

    public (long Col, long Row)? Tile { get; }

    private static string Format(string file, string cause, int? level, (long Col, long Row)? tile)
    {
        var where = level is null ? "" : tile is null ? $" level {level}" : $" level {level} tile ({tile.Value.Col},{tile.Value.Row})";
        return $"{file}:{where}{(where.Length > 0 ? ":" : "")} {cause}";
    }
}
