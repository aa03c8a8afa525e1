using System.Text;

namespace Histoscale.Storage.DicomWeb;

/// <summary>One body part of a multipart/related message: its headers (names lower-cased) and where its bytes lie.</summary>
internal readonly record struct MultipartPart(IReadOnlyDictionary<string, string> Headers, int Offset, int Length)
{
    public string? ContentType => Headers.GetValueOrDefault("content-type");
}

/// <summary>
/// Splits a multipart/related body (RFC 2046 §5.1, as WADO-RS sends frames) into its parts: an optional preamble,
/// then each part after a delimiter line <c>--boundary</c> (transport padding allowed), its headers up to an empty
/// line, its body up to the next CRLF <c>--boundary</c>, and the close delimiter <c>--boundary--</c>. Bare LF line ends
/// are accepted. A Content-Length header, when a part has one, must agree with where the next delimiter is. A body
/// that ends before the close delimiter is truncated: <see cref="FormatException"/> says where.
/// </summary>
internal static class MultipartRelated
{
    private const int MaxHeaderBytes = 64 * 1024;

    /// <summary>The value of parameter <paramref name="name"/> in a header like <c>multipart/related; type="…"; boundary=…</c>, unquoted; null when absent.</summary>
    public static string? Parameter(string header, string name)
    {
        // Skip the media type itself.
        var semicolon = IndexOutsideQuotes(header, ';', 0);
        if (semicolon < 0)
        {
            return null;
        }
        var i = semicolon + 1;
        while (i < header.Length)
        {
            var end = IndexOutsideQuotes(header, ';', i);
            var part = header[i..(end < 0 ? header.Length : end)].Trim();
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                var value = part[(eq + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal);
                }
                return value;
            }
            if (end < 0)
            {
                break;
            }
            i = end + 1;
        }
        return null;
    }

    /// <summary>The media type of a Content-Type value (before any parameter), lower-cased.</summary>
    public static string MediaType(string header)
    {
        var semicolon = header.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? header : header[..semicolon]).Trim().ToLowerInvariant();
    }

    /// <summary>The parts of <paramref name="body"/> delimited by <paramref name="boundary"/>.</summary>
    /// <exception cref="FormatException">No opening delimiter, a part without a header end, a Content-Length that disagrees, or no close delimiter (truncated).</exception>
    public static List<MultipartPart> Split(ReadOnlySpan<byte> body, string boundary)
    {
        if (boundary.Length is 0 or > 200)
        {
            throw new FormatException($"invalid multipart boundary '{boundary}'");
        }
        var dash = Encoding.ASCII.GetBytes("--" + boundary);
        // The first delimiter: at the very start, or after a line end ending the preamble.
        var at = FindDelimiter(body, dash, 0, first: true);
        if (at < 0)
        {
            throw new FormatException($"no opening boundary \"--{boundary}\" in the {body.Length}-byte body");
        }
        var parts = new List<MultipartPart>();
        var position = at + dash.Length;
        while (true)
        {
            if (position + 2 <= body.Length && body[position] == '-' && body[position + 1] == '-')
            {
                return parts; // close delimiter; the epilogue is ignored
            }
            // Transport padding, then the line end.
            while (position < body.Length && (body[position] == ' ' || body[position] == '\t'))
            {
                position++;
            }
            if (position < body.Length && body[position] == '\r')
            {
                position++;
            }
            if (position >= body.Length)
            {
                throw new FormatException($"truncated after boundary {parts.Count + 1} (the body ends at byte {body.Length} without the close delimiter \"--{boundary}--\")");
            }
            if (body[position] != '\n')
            {
                throw new FormatException($"boundary {parts.Count + 1} at byte {position} is not followed by a line end");
            }
            position++;
            var headers = ReadHeaders(body, ref position, parts.Count + 1);
            var next = FindDelimiter(body, dash, position, first: false);
            if (next < 0)
            {
                throw new FormatException($"part {parts.Count + 1} is truncated (the body ends at byte {body.Length} before the next boundary or the close delimiter \"--{boundary}--\")");
            }
            // The line end before the delimiter belongs to the delimiter.
            var end = next;
            if (end > position && body[end - 1] == '\n')
            {
                end--;
                if (end > position && body[end - 1] == '\r')
                {
                    end--;
                }
            }
            if (headers.TryGetValue("content-length", out var declared) && long.TryParse(declared, out var length) && length != end - position)
            {
                throw new FormatException($"part {parts.Count + 1} declares Content-Length {length} but holds {end - position} bytes before the next boundary");
            }
            parts.Add(new MultipartPart(headers, position, end - position));
            position = next + dash.Length;
        }
    }

    private static Dictionary<string, string> ReadHeaders(ReadOnlySpan<byte> body, ref int position, int part)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var start = position;
        while (true)
        {
            var lf = body[position..].IndexOf((byte)'\n');
            if (lf < 0 || position - start > MaxHeaderBytes)
            {
                throw new FormatException($"part {part} is truncated in its headers (no empty line ends them)");
            }
            var line = body.Slice(position, lf);
            position += lf + 1;
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }
            if (line.Length == 0)
            {
                return headers;
            }
            var text = Encoding.Latin1.GetString(line);
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException($"part {part} has a malformed header line '{(text.Length > 80 ? text[..80] + "…" : text)}'");
            }
            headers[text[..colon].Trim().ToLowerInvariant()] = text[(colon + 1)..].Trim();
        }
    }

    /// <summary>The index of the next <c>--boundary</c> at a line start (or at <paramref name="from"/> itself for the first), followed by "--", padding or a line end.</summary>
    private static int FindDelimiter(ReadOnlySpan<byte> body, byte[] dash, int from, bool first)
    {
        var i = from;
        while (i <= body.Length - dash.Length)
        {
            var k = body[i..].IndexOf(dash);
            if (k < 0)
            {
                return -1;
            }
            var at = i + k;
            var lineStart = at == 0 || body[at - 1] == '\n' || (first && at == from);
            var after = at + dash.Length;
            // A delimiter must end the line (padding, CR/LF or "--" follow) — or the body, when truncated just after it.
            var ends = after >= body.Length || body[after] is (byte)'\r' or (byte)'\n' or (byte)' ' or (byte)'\t' or (byte)'-';
            if (lineStart && ends)
            {
                return at;
            }
            i = at + 1;
        }
        return -1;
    }

    private static int IndexOutsideQuotes(string s, char c, int from)
    {
        var quoted = false;
        for (var i = from; i < s.Length; i++)
        {
            if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (s[i] == c && !quoted)
            {
                return i;
            }
        }
        return -1;
    }
}
