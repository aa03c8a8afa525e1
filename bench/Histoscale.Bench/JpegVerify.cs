using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;

namespace Histoscale.Bench;

/// <summary>Decodes every sampled tile with our decoder and with libjpeg-turbo (Skia) and counts differing pixels.</summary>
public static class JpegVerify
{
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
