namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Reads the marker segments up to the first scan into a <see cref="JpegFrame"/>. Anything outside baseline or
/// extended-sequential Huffman coding of 8-bit, 1- or 3-component images, and any segment libjpeg would reject
/// or only accept with a warning, makes it answer "not mine" so the caller hands the stream to libjpeg.
/// </summary>
internal static class JpegMarkers
{
    private const int Sof0 = 0xC0;
    private const int Sof1 = 0xC1;
    private const int Dht = 0xC4;
    private const int Sos = 0xDA;
    private const int Dqt = 0xDB;
    private const int Dri = 0xDD;
    private const int App0 = 0xE0;
    private const int App14 = 0xEE;
    private const int Com = 0xFE;

    /// <summary>End of image: the only marker a scan we decode may be followed by.</summary>
    public const int Eoi = 0xD9;

    /// <summary>Returns the offset of the first entropy-coded byte, or -1 when the stream is not ours to decode.</summary>
    public static int ReadHeaders(ReadOnlySpan<byte> data, JpegFrame frame)
    {
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8)
        {
            return -1;
        }
        var pos = 2;
        var sawFrame = false;
        while (true)
        {
            if (pos >= data.Length || data[pos] != 0xFF)
            {
                return -1; // stray bytes between segments: libjpeg skips them with a warning
            }
            while (pos < data.Length && data[pos] == 0xFF)
            {
                pos++;
            }
            if (pos + 2 >= data.Length)
            {
                return -1;
            }
            int marker = data[pos++];
            int length = (data[pos] << 8) | data[pos + 1];
            if (length < 2 || pos + length > data.Length)
            {
                return -1;
            }
            var body = data.Slice(pos + 2, length - 2);
            pos += length;
            switch (marker)
            {
                case Sof0 or Sof1:
                    if (sawFrame || !ReadFrame(body, frame))
                    {
                        return -1;
                    }
                    sawFrame = true;
                    break;
                case Dht:
                    if (!ReadHuffmanTables(body, frame))
                    {
                        return -1;
                    }
                    break;
                case Dqt:
                    if (!ReadQuantTables(body, frame))
                    {
                        return -1;
                    }
                    break;
                case Dri:
                    if (body.Length != 2)
                    {
                        return -1;
                    }
                    frame.RestartInterval = (body[0] << 8) | body[1];
                    break;
                case Sos:
                    return sawFrame && ReadScan(body, frame) ? pos : -1;
                case App0:
                    // libjpeg looks at the first 14 bytes: "JFIF\0" there means YCbCr whatever else is said.
                    if (body.Length >= 14 && body[0] == 'J' && body[1] == 'F' && body[2] == 'I' && body[3] == 'F' && body[4] == 0)
                    {
                        if (body[5] != 1)
                        {
                            return -1; // libjpeg warns of an unknown JFIF major version
                        }
                        frame.SawJfif = true;
                    }
                    break;
                case App14:
                    if (body.Length >= 12 && body[0] == 'A' && body[1] == 'd' && body[2] == 'o' && body[3] == 'b' && body[4] == 'e')
                    {
                        frame.SawAdobe = true;
                        frame.AdobeTransform = body[11];
                    }
                    break;
                case >= 0xE1 and <= 0xEF or Com:
                    break;
                default:
                    return -1; // progressive, lossless, arithmetic (SOFn, DAC), DNL, stray SOI/EOI/RSTn, reserved
            }
        }
    }

    private static bool ReadFrame(ReadOnlySpan<byte> body, JpegFrame frame)
    {
        if (body.Length < 6 || body[0] != 8)
        {
            return false;
        }
        var height = (body[1] << 8) | body[2];
        var width = (body[3] << 8) | body[4];
        int count = body[5];
        if (height == 0 || width == 0 || count is not (1 or 3) || body.Length != 6 + (3 * count))
        {
            return false; // height 0 means a DNL marker follows the scan
        }
        frame.Width = width;
        frame.Height = height;
        frame.ComponentCount = count;
        for (var i = 0; i < count; i++)
        {
            var c = body.Slice(6 + (3 * i), 3);
            ref var comp = ref frame.Components[i];
            comp.Id = c[0];
            comp.H = c[1] >> 4;
            comp.V = c[1] & 15;
            comp.QuantTable = c[2];
            if (comp.H is < 1 or > 4 || comp.V is < 1 or > 4 || comp.QuantTable > 3)
            {
                return false;
            }
            for (var j = 0; j < i; j++)
            {
                if (frame.Components[j].Id == comp.Id)
                {
                    return false; // duplicate ids: which component a scan means is libjpeg's guess
                }
            }
        }
        return true;
    }

    private static bool ReadHuffmanTables(ReadOnlySpan<byte> body, JpegFrame frame)
    {
        while (body.Length > 0)
        {
            if (body.Length < 17)
            {
                return false;
            }
            int index = body[0];
            var counts = body.Slice(1, 16);
            var total = 0;
            foreach (var n in counts)
            {
                total += n;
            }
            if (total > 256 || body.Length < 17 + total || (index & 0x0F) > 3 || (index >> 4) > 1)
            {
                return false;
            }
            var isAc = (index >> 4) == 1;
            var table = isAc ? frame.AcTables[index & 3] : frame.DcTables[index & 3];
            // A table libjpeg-turbo rejects only matters if a scan uses it; Usable stays false then.
            table.Build(counts, body.Slice(17, total), !isAc);
            body = body[(17 + total)..];
        }
        return true;
    }

    private static bool ReadQuantTables(ReadOnlySpan<byte> body, JpegFrame frame)
    {
        var natural = ZigZag.NaturalOrder;
        while (body.Length > 0)
        {
            int precision = body[0] >> 4;
            int index = body[0] & 15;
            var size = precision == 0 ? 64 : 128;
            if (precision > 1 || index > 3 || body.Length < 1 + size)
            {
                return false; // short tables: libjpeg pads them with ones, a case we leave to it
            }
            var q = frame.Quant.AsSpan(index * 64, 64);
            for (var i = 0; i < 64; i++)
            {
                q[natural[i]] = precision == 0 ? body[1 + i] : (body[1 + (2 * i)] << 8) | body[2 + (2 * i)];
            }
            frame.QuantDefined[index] = true;
            body = body[(1 + size)..];
        }
        return true;
    }

    private static bool ReadScan(ReadOnlySpan<byte> body, JpegFrame frame)
    {
        if (body.Length < 1)
        {
            return false;
        }
        int count = body[0];
        if (count != frame.ComponentCount || body.Length != 4 + (2 * count))
        {
            return false; // one component per scan (several scans): libjpeg buffers the whole image for that
        }
        var seen = 0;
        for (var i = 0; i < count; i++)
        {
            int id = body[1 + (2 * i)];
            int tables = body[2 + (2 * i)];
            var index = -1;
            for (var j = 0; j < frame.ComponentCount; j++)
            {
                if (frame.Components[j].Id == id && (seen & (1 << j)) == 0)
                {
                    index = j;
                    break;
                }
            }
            if (index < 0)
            {
                return false;
            }
            seen |= 1 << index;
            ref var comp = ref frame.Components[index];
            comp.DcTable = tables >> 4;
            comp.AcTable = tables & 15;
            if (comp.DcTable > 3 || comp.AcTable > 3 || !frame.DcTables[comp.DcTable].Usable || !frame.AcTables[comp.AcTable].Usable
                || !frame.QuantDefined[comp.QuantTable])
            {
                return false; // libjpeg-turbo would substitute the standard Huffman tables; rare enough to leave to it
            }
            frame.ScanOrder[i] = index;
        }
        var tail = body[(1 + (2 * count))..];
        if (tail[0] != 0 || tail[1] != 63 || tail[2] != 0)
        {
            return false;
        }
        frame.IsRgb = count == 3 && IsRgb(frame);
        return true;
    }

    /// <summary>libjpeg's default colour space for three components (jdapimin.c default_decompress_parms).</summary>
    private static bool IsRgb(JpegFrame frame)
    {
        if (frame.SawJfif)
        {
            return false;
        }
        if (frame.SawAdobe)
        {
            return frame.AdobeTransform == 0;
        }
        var c = frame.Components;
        return c[0].Id == 'R' && c[1].Id == 'G' && c[2].Id == 'B';
    }
}
