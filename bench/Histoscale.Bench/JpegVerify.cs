using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;

namespace Histoscale.Bench;

/// <summary>Decodes every sampled tile with our decoder and with libjpeg-turbo (ImageMagick's, SIMD paths) and counts differing pixels.</summary>
public static class JpegVerify
{
    /// <summary>One stream: ours against libjpeg-turbo, differences listed.</summary>
    public static int Compare(byte[] stream, int w, int h)
    {
        var ours = new byte[w * h * 4];
        var libjpeg = new byte[w * h * 4];
        JpegCodec.DecodeStream(stream, w, h, libjpeg, w * 4);
        if (!JpegDecoder.TryDecode(stream, w, h, ours, w * 4))
        {
            Console.WriteLine("declined");
            return 1;
        }
        var shown = 0;
        for (var i = 0; i < ours.Length; i += 4)
        {
            if (!ours.AsSpan(i, 4).SequenceEqual(libjpeg.AsSpan(i, 4)) && shown++ < 20)
            {
                Console.WriteLine($"x={i / 4 % w} y={i / 4 / w}: ours {string.Join(",", ours[i..(i + 3)])} libjpeg {string.Join(",", libjpeg[i..(i + 3)])}");
            }
        }
        Console.WriteLine($"differing pixels: {shown}");
        return shown == 0 ? 0 : 1;
    }

    public static int Run(TileStreams tiles)
    {
        var w = tiles.Width;
        var h = tiles.Height;
        var ours = new byte[w * h * 4];
        var libjpeg = new byte[w * h * 4];
        int declined = 0, differing = 0;
        long diffBytes = 0, absSum = 0;
        foreach (var s in tiles.Streams)
        {
            JpegCodec.DecodeStream(s, w, h, libjpeg, w * 4);
            if (!JpegDecoder.TryDecode(s, w, h, ours, w * 4))
            {
                declined++;
                continue;
            }
            var bad = 0;
            for (var i = 0; i < ours.Length; i++)
            {
                if (ours[i] != libjpeg[i])
                {
                    bad++;
                    absSum += Math.Abs(ours[i] - libjpeg[i]);
                }
            }
            if (bad != 0)
            {
                if (differing == 0)
                {
                    for (var i = 0; i < ours.Length; i++)
                    {
                        if (ours[i] != libjpeg[i])
                        {
                            Console.WriteLine($"first difference at x={i / 4 % w} y={i / 4 / w} channel={i % 4}: ours {ours[i]} libjpeg {libjpeg[i]}");
                            break;
                        }
                    }
                }
                differing++;
                diffBytes += bad;
            }
        }
        Console.WriteLine($"tiles={tiles.Streams.Count} declined={declined} differing={differing} differingBytes={diffBytes} sumAbs={absSum}");
        return differing == 0 && declined == 0 ? 0 : 1;
    }
}

/// <summary>Every JPEG tile and strip of every directory of a TIFF (levels, thumbnail, label, macro), ours against libjpeg-turbo.</summary>
public static class JpegVerifyAll
{
    public static int Run(string path)
    {
        using var source = new Histoscale.Slides.Sources.LocalFileSource(path);
        var tiff = Histoscale.Slides.Tiff.TiffFile.TryOpen(source) ?? throw new InvalidDataException("not a TIFF");
        int blocks = 0, declined = 0, differing = 0;
        var sizes = new HashSet<(int, int)>();
        foreach (var dir in tiff.Directories)
        {
            if (dir.GetLong(Histoscale.Slides.Tiff.TiffTag.Compression) != 7)
            {
                continue;
            }
            var tables = dir.GetBytes(Histoscale.Slides.Tiff.TiffTag.JpegTables);
            var photometric = (int)(dir.GetLong(Histoscale.Slides.Tiff.TiffTag.Photometric) ?? 2);
            var tiled = dir.IsTiled;
            var offsets = dir.GetLongs(tiled ? Histoscale.Slides.Tiff.TiffTag.TileOffsets : Histoscale.Slides.Tiff.TiffTag.StripOffsets);
            var counts = dir.GetLongs(tiled ? Histoscale.Slides.Tiff.TiffTag.TileByteCounts : Histoscale.Slides.Tiff.TiffTag.StripByteCounts);
            var rowsPerStrip = (int)Math.Min(dir.GetLong(Histoscale.Slides.Tiff.TiffTag.RowsPerStrip) ?? dir.Height, dir.Height);
            for (var i = 0; i < offsets.Length; i++)
            {
                if (counts[i] == 0)
                {
                    continue;
                }
                int w, h;
                if (tiled)
                {
                    w = (int)dir.GetLong(Histoscale.Slides.Tiff.TiffTag.TileWidth)!;
                    h = (int)dir.GetLong(Histoscale.Slides.Tiff.TiffTag.TileLength)!;
                }
                else
                {
                    w = (int)dir.Width;
                    h = (int)Math.Min(rowsPerStrip, dir.Height - ((long)i * rowsPerStrip));
                }
                var raw = new byte[counts[i]];
                tiff.ReadExactly(offsets[i], raw, "block");
                var buffer = new byte[raw.Length + (tables?.Length ?? 0) + 32];
                var stream = buffer[..JpegCodec.BuildStream(raw, tables, photometric, buffer)];
                var libjpeg = new byte[w * h * 4];
                var ours = new byte[w * h * 4];
                JpegCodec.DecodeStream(stream, w, h, libjpeg, w * 4);
                blocks++;
                sizes.Add((w, h));
                if (!JpegDecoder.TryDecode(stream, w, h, ours, w * 4))
                {
                    declined++;
                }
                else if (!ours.AsSpan().SequenceEqual(libjpeg))
                {
                    differing++;
                }
            }
        }
        Console.WriteLine($"{Path.GetFileName(path)}: jpeg blocks={blocks} sizes={string.Join(" ", sizes.Select(s => $"{s.Item1}x{s.Item2}"))} declined={declined} differing={differing}");
        return differing == 0 && declined == 0 ? 0 : 1;
    }
}
