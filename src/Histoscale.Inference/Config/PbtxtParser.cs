using System.Text;

namespace Histoscale.Inference.Config;

/// <summary>
/// Parses protobuf text format (what Triton's config.pbtxt is written in) into a <see cref="PbtxtMessage"/> tree.
/// Supports: <c>#</c> comments, <c>field: scalar</c>, <c>field { ... }</c> / <c>field: { ... }</c> / <c>&lt; ... &gt;</c>,
/// list syntax <c>field: [a, b]</c> and <c>field [{...}, {...}]</c>, optional <c>,</c>/<c>;</c> separators, single- or
/// double-quoted strings with C escapes and adjacent-string concatenation. Errors carry the file and line.
/// </summary>
internal sealed class PbtxtParser
{
    private readonly string _text;
    private readonly string _file;
    private int _pos;
    private int _line = 1;

    private PbtxtParser(string text, string file)
    {
        _text = text;
        _file = file;
    }

    /// <param name="text">The protobuf text.</param>
    /// <param name="file">Used only in error messages.</param>
    public static PbtxtMessage Parse(string text, string file = "config.pbtxt")
    {
        var parser = new PbtxtParser(text, file);
        var message = parser.ParseFields(closer: null);
        return message;
    }

    private PbtxtMessage ParseFields(char? closer)
    {
        var message = new PbtxtMessage();
        while (true)
        {
            SkipTrivia();
            if (_pos >= _text.Length)
            {
                if (closer is not null)
                {
                    throw Error($"unexpected end of file: missing '{closer}'");
                }
                return message;
            }
            var c = _text[_pos];
            if (closer is not null && c == closer)
            {
                _pos++;
                return message;
            }
            if (!IsIdentStart(c))
            {
                throw Error($"expected a field name, got '{Describe()}'");
            }
            var line = _line;
            var name = ReadIdentifier();
            SkipTrivia();
            var hasColon = TryConsume(':');
            SkipTrivia();
            if (Peek() == '[')
            {
                _pos++;
                ParseList(message, name, line);
            }
            else if (Peek() is '{' or '<')
            {
                var close = _text[_pos] == '{' ? '}' : '>';
                _pos++;
                message.Fields.Add(new PbtxtField(name, new PbtxtMessageValue(ParseFields(close)), line));
            }
            else if (hasColon)
            {
                message.Fields.Add(new PbtxtField(name, ReadScalar(name), line));
            }
            else
            {
                throw Error($"expected ':' or '{{' after field '{name}', got '{Describe()}'");
            }
            SkipTrivia();
            if (Peek() is ',' or ';')
            {
                _pos++;
            }
        }
    }

    private void ParseList(PbtxtMessage message, string name, int line)
    {
        SkipTrivia();
        if (TryConsume(']'))
        {
            return;
        }
        while (true)
        {
            SkipTrivia();
            var itemLine = _line;
            if (Peek() is '{' or '<')
            {
                var close = _text[_pos] == '{' ? '}' : '>';
                _pos++;
                message.Fields.Add(new PbtxtField(name, new PbtxtMessageValue(ParseFields(close)), itemLine));
            }
            else
            {
                message.Fields.Add(new PbtxtField(name, ReadScalar(name), itemLine));
            }
            SkipTrivia();
            if (TryConsume(','))
            {
                continue;
            }
            if (TryConsume(']'))
            {
                return;
            }
            throw Error($"expected ',' or ']' in the list of field '{name}' (opened on line {line}), got '{Describe()}'");
        }
    }

    private PbtxtScalar ReadScalar(string field)
    {
        SkipTrivia();
        var c = Peek();
        if (c is '"' or '\'')
        {
            var sb = new StringBuilder();
            // Adjacent string literals concatenate, as in C and protobuf text format.
            while (Peek() is '"' or '\'')
            {
                ReadString(sb);
                SkipTrivia();
            }
            return PbtxtScalar.Str(sb.ToString());
        }
        if (c is '-' or '+' or '.' || char.IsAsciiDigit(c))
        {
            var start = _pos;
            _pos++;
            // Also accepts "-inf"/"-nan", which protobuf text format allows for floats.
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or '_' or '+' or '-'))
            {
                if (_text[_pos] is '+' or '-' && _text[_pos - 1] is not ('e' or 'E'))
                {
                    break;
                }
                _pos++;
            }
            return new PbtxtScalar(PbtxtScalarKind.Number, _text[start.._pos]);
        }
        if (IsIdentStart(c))
        {
            return PbtxtScalar.Ident(ReadIdentifier());
        }
        throw Error($"expected a value for field '{field}', got '{Describe()}'");
    }

    private void ReadString(StringBuilder sb)
    {
        var quote = _text[_pos++];
        var startLine = _line;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error($"unterminated string starting on line {startLine}");
            }
            var c = _text[_pos++];
            if (c == quote)
            {
                return;
            }
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (_pos >= _text.Length)
            {
                throw Error("unterminated escape sequence");
            }
            var e = _text[_pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\\' or '\'' or '"' or '?': sb.Append(e); break;
                case 'x':
                    {
                        var start = _pos;
                        while (_pos < _text.Length && _pos - start < 2 && char.IsAsciiHexDigit(_text[_pos]))
                        {
                            _pos++;
                        }
                        if (_pos == start)
                        {
                            throw Error("\\x escape without hex digits");
                        }
                        sb.Append((char)Convert.ToInt32(_text[start.._pos], 16));
                        break;
                    }
                case >= '0' and <= '7':
                    {
                        var start = _pos - 1;
                        while (_pos < _text.Length && _pos - start < 3 && _text[_pos] is >= '0' and <= '7')
                        {
                            _pos++;
                        }
                        sb.Append((char)Convert.ToInt32(_text[start.._pos], 8));
                        break;
                    }
                default:
                    throw Error($"unknown escape sequence '\\{e}'");
            }
        }
    }

    private string ReadIdentifier()
    {
        var start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '_' or '.'))
        {
            _pos++;
        }
        return _text[start.._pos];
    }

    private void SkipTrivia()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n')
            {
                _line++;
                _pos++;
            }
            else if (char.IsWhiteSpace(c))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private bool TryConsume(char c)
    {
        if (Peek() == c)
        {
            _pos++;
            return true;
        }
        return false;
    }

    private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

    private string Describe() => _pos >= _text.Length ? "end of file" : _text[_pos].ToString();

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private ModelConfigException Error(string message) => new(message, file: _file, line: _line);
}
