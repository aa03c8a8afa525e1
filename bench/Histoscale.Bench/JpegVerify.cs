using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;

namespace Histoscale.Bench;

/// <summary>Decodes every sampled tile with our decoder and with libjpeg-turbo (Skia) and counts differing pixels.</summary>
public static class JpegVerify
{
    /// <summary>One stream: ours against libjpeg-turbo, differences listed.</summary>
    public static int Compare(byte[] stream, int w, int h)
    {
        var ours = new byte[w * h * 4];
        var skia = new byte[w * h * 4];
        JpegCodec.DecodeStream(stream, w, h, skia, w * 4);
        if (!JpegDecoder.TryDecode(stream, w, h, ours, w * 4))
        {
            Console.WriteLine("declined");
            return 1;
        }
        var shown = 0;
        for (var i = 0; i < ours.Length; i += 4)
        {
            if (!ours.AsSpan(i, 4).SequenceEqual(skia.AsSpan(i, 4)) && shown++ < 20)
            {
                Console.WriteLine($"x={i / 4 % w} y={i / 4 / w}: ours {string.Join(",", ours[i..(i + 3)])} libjpeg {string.Join(",", skia[i..(i + 3)])}");
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
        var skia = new byte[w * h * 4];
        int declined = 0, differing = 0;
        long diffBytes = 0, absSum = 0;
        foreach (var s in tiles.Streams)
        {
            JpegCodec.DecodeStream(s, w, h, skia, w * 4);
            if (!JpegDecoder.TryDecode(s, w, h, ours, w * 4))
            {
                declined++;
                continue;
            }
            var bad = 0;
            for (var i = 0; i < ours.Length; i++)
            {
                if (ours[i] != skia[i])
                {
                    bad++;
                    absSum += Math.Abs(ours[i] - skia[i]);
                }
            }
            if (bad != 0)
            {
                if (differing == 0)
                {
                    for (var i = 0; i < ours.Length; i++)
                    {
                        if (ours[i] != skia[i])
                        {
                            Console.WriteLine($"first difference at x={i / 4 % w} y={i / 4 / w} channel={i % 4}: ours {ours[i]} skia {skia[i]}");
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
