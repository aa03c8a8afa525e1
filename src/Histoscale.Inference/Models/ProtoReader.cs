namespace Histoscale.Inference.Models;

/// <summary>
/// The protobuf wire format, just enough to walk a message over a seekable stream: tags, varints, strings, and
/// skipping any field by seeking (so a model's weights are never read). Nested messages are entered with a byte
/// limit; reading past a limit or the stream's end is <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ProtoReader(Stream stream)
{
    private long _limit = stream.Length;

    /// <summary>Next field tag, or 0 at the end of the current message.</summary>
    public uint ReadTag()
    {
        if (stream.Position >= _limit)
        {
            return 0;
        }
        var tag = ReadVarint();
        if (tag >> 3 == 0 || tag > uint.MaxValue)
        {
            throw new InvalidDataException($"invalid field tag {tag} at byte {stream.Position}");
        }
        return (uint)tag;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new InvalidDataException($"malformed varint at byte {stream.Position}");
    }

    public string ReadString()
    {
        var length = ReadLength();
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Enters a length-delimited field; returns the outer limit to pass to <see cref="Leave"/>.</summary>
    public long Enter()
    {
        var length = ReadLength();
        var outer = _limit;
        _limit = stream.Position + length;
        return outer;
    }

    /// <summary>Skips what is left of the entered message and restores the outer limit.</summary>
    public void Leave(long outer)
    {
        stream.Position = _limit;
        _limit = outer;
    }

    /// <summary>Skips the field whose tag was just read.</summary>
    public void SkipField(uint tag)
    {
        switch (tag & 7)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Seek(8);
                break;
            case 2:
                Seek(ReadLength());
                break;
            case 5:
                Seek(4);
                break;
            default:
                throw new InvalidDataException($"unsupported wire type {tag & 7} at byte {stream.Position}");
        }
    }

    private long ReadLength()
    {
        var length = ReadVarint();
        if (length > (ulong)(_limit - stream.Position))
        {
            throw new InvalidDataException($"field length {length} runs past its message at byte {stream.Position}");
        }
        return (long)length;
    }

    private void Seek(long count)
    {
        if (stream.Position + count > _limit)
        {
            throw new InvalidDataException($"field runs past its message at byte {stream.Position}");
        }
        stream.Position += count;
    }

    private byte ReadByte()
    {
        if (stream.Position >= _limit)
        {
            throw new InvalidDataException($"message truncated at byte {stream.Position}");
        }
        var b = stream.ReadByte();
        return b < 0 ? throw new InvalidDataException("unexpected end of file") : (byte)b;
    }
}
