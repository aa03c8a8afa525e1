namespace Histoscale.Slides;

/// <summary>
/// The one error type for unreadable or invalid slides. It names what a user needs to find the fault:
/// the file, and where known the level, the tile and the cause.
/// <para>
/// A tile whose stored data cannot be decoded (corrupt or truncated JPEG, JPEG 2000, LZW or deflate data) is
/// this exception with <see cref="Level"/> and <see cref="Tile"/> set and <see cref="Cause"/> saying what was
/// wrong ("corrupt JPEG data: bad Huffman code at MCU 37 of 100"); never pixels. A host serving tiles maps it to a
/// 5xx response whose body is <see cref="Exception.Message"/> ("FILE: level L tile (C,R): CAUSE"): the request
/// was valid, the slide is not. Requests outside the slide (a level or tile that does not exist) are argument
/// exceptions instead, the client's fault.
/// </para>
/// </summary>
public sealed class SlideException : Exception
{
    /// <summary>An error for <paramref name="file"/>; the message reads "file: level L tile (c,r): cause" with the parts that are known.</summary>
    /// <param name="file">Path or URI of the slide.</param>
    /// <param name="cause">What is wrong, for a user to read.</param>
    /// <param name="level">The level being read, if any.</param>
    /// <param name="tile">The tile (column, row in that level's grid) being read, if any.</param>
    /// <param name="inner">The underlying exception, if any.</param>
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

    /// <summary>What was wrong, without the location.</summary>
    public string Cause { get; }

    /// <summary>Index of the level being read, or null when the fault is not in one level.</summary>
    public int? Level { get; }

    /// <summary>Column and row of the tile in its level's grid, or null when the fault is not in one tile.</summary>
    public (long Col, long Row)? Tile { get; }

    /// <summary>
    /// True when the tile's stored bytes were read and cannot be decoded (corrupt or truncated data): reading again
    /// gives the same answer. False for failures to read them (a store or disk error after its retries), which a
    /// later attempt may not meet; a pipeline must not record those as the tile's verdict.
    /// </summary>
    public bool IsCorruptData { get; init; }

    private static string Format(string file, string cause, int? level, (long Col, long Row)? tile)
    {
        var where = level is null ? "" : tile is null ? $" level {level}" : $" level {level} tile ({tile.Value.Col},{tile.Value.Row})";
        // A presigned URL's signature or SAS token never reaches a message (File keeps the URL as given).
        return UrlRedaction.Redact($"{file}:{where}{(where.Length > 0 ? ":" : "")} {cause}");
    }
}
