using ImageMagick;
using ImageMagick.Formats;

namespace Histoscale.Slides.Tests.Codecs;

/// <summary>How <see cref="TestJpegEncoder"/> writes a stream: the knobs a decoder must cope with.</summary>
public sealed record JpegLayout
{
    /// <summary>1 (grayscale) or 3.</summary>
    public int Components { get; init; } = 3;

    /// <summary>Sampling factors (H, V) per component.</summary>
    public (int H, int V)[] Sampling { get; init; } = [(2, 2), (1, 1), (1, 1)];

    public int Quality { get; init; } = 80;

    public int RestartInterval { get; init; }

    /// <summary>Convert RGB to YCbCr before coding (false: code R, G, B as they are).</summary>
    public bool Ycc { get; init; } = true;

    /// <summary>"jfif", "adobe0", "adobe1" or "none": the colour-space marker written.</summary>
    public string Marker { get; init; } = "jfif";

    public byte[] ComponentIds { get; init; } = [1, 2, 3];

    /// <summary>Write quantisation tables with 16-bit precision (and SOF1, extended sequential).</summary>
    public bool Quant16 { get; init; }

    /// <summary>One DHT/DQT segment per table, placed after the frame header (rather than all before it).</summary>
    public bool SplitSegments { get; init; }

    public override string ToString() =>
        $"{Components}c {string.Join(",", Sampling.Take(Components).Select(s => $"{s.H}x{s.V}"))} q{Quality} ri{RestartInterval} {(Ycc ? "ycc" : "rgb")} {Marker}{(Quant16 ? " q16" : "")}{(SplitSegments ? " split" : "")}";
}

/// <summary>
/// A small baseline JPEG encoder for tests: any sampling, restart intervals, markers and table placements, so
/// a decoder can be compared with libjpeg-turbo on streams no library encoder writes. Quantisation tables
/// come from a stream libjpeg-turbo wrote (inside ImageMagick), Huffman tables are made per image; the forward DCT is a plain floating-point one, as accuracy is not the point.
/// </summary>
public static class TestJpegEncoder
{
    public static byte[] Encode(RgbaImage image, JpegLayout layout)
    {
        var quant = ReferenceQuantTables(layout.Quality);
        var n = layout.Components;
        var sampling = layout.Sampling.Take(n).ToArray();
        if (n == 1)
        {
            sampling = [(1, 1)];
        }
        var maxH = sampling.Max(s => s.H);
        var maxV = sampling.Max(s => s.V);
        var planes = ComponentPlanes(image, layout);

        var compW = new int[n];
        var compH = new int[n];
        var sampled = new byte[n][];
        for (var c = 0; c < n; c++)
        {
            compW[c] = ((image.Width * sampling[c].H) + maxH - 1) / maxH;
            compH[c] = ((image.Height * sampling[c].V) + maxV - 1) / maxV;
            sampled[c] = Downsample(planes[c], image.Width, image.Height, compW[c], compH[c], maxH / sampling[c].H, maxV / sampling[c].V);
        }
        int mcusX, mcusY;
        if (n == 1)
        {
            mcusX = (image.Width + 7) / 8;
            mcusY = (image.Height + 7) / 8;
        }
        else
        {
            mcusX = (image.Width + (8 * maxH) - 1) / (8 * maxH);
            mcusY = (image.Height + (8 * maxV) - 1) / (8 * maxV);
        }
        var predictors = new int[n];
        var blocks = new List<(int Table, int[] Coef)>();
        var mcu = 0;
        for (var my = 0; my < mcusY; my++)
        {
            for (var mx = 0; mx < mcusX; mx++)
            {
                if (layout.RestartInterval > 0 && mcu > 0 && mcu % layout.RestartInterval == 0)
                {
                    blocks.Add((-1, []));
                    Array.Clear(predictors);
                }
                mcu++;
                for (var c = 0; c < n; c++)
                {
                    var (h, v) = n == 1 ? (1, 1) : sampling[c];
                    var q = quant[c == 0 ? 0 : 1];
                    for (var by = 0; by < v; by++)
                    {
                        for (var bx = 0; bx < h; bx++)
                        {
                            var coef = ForwardDct(sampled[c], compW[c], compH[c], ((mx * h) + bx) * 8, ((my * v) + by) * 8, q);
                            var dc = coef[0];
                            coef[0] -= predictors[c];
                            predictors[c] = dc;
                            blocks.Add((c == 0 ? 0 : 1, coef));
                        }
                    }
                }
            }
        }
        // Huffman tables made for this image (as libjpeg's optimize_coding does): complete for the symbols used.
        var tables = n == 1 ? 1 : 2;
        var dht = new List<(int Class, int Id, byte[] Bits, byte[] Values)>();
        var codes = new Dictionary<(int, int), (int Code, int Length)[]>();
        for (var t = 0; t < tables; t++)
        {
            foreach (var cls in new[] { 0, 1 })
            {
                var freq = new long[257];
                foreach (var (table, coef) in blocks)
                {
                    if (table == t)
                    {
                        EncodeBlock(coef, (symbol, _, _) => freq[symbol]++, cls);
                    }
                }
                var (bits, values) = HuffmanCoding.OptimalTable(freq);
                dht.Add((cls, t, bits, values));
                codes[(cls, t)] = HuffmanCoding.CodeTable(bits, values);
            }
        }
        var output = new List<byte> { 0xFF, 0xD8 };
        switch (layout.Marker)
        {
            case "jfif":
                Segment(output, 0xE0, [(byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
                break;
            case "adobe0" or "adobe1":
                Segment(output, 0xEE, [(byte)'A', (byte)'d', (byte)'o', (byte)'b', (byte)'e', 0, 100, 0, 0, 0, 0, (byte)(layout.Marker == "adobe1" ? 1 : 0)]);
                break;
        }
        var tableSegments = new List<(int Marker, byte[] Body)>();
        for (var t = 0; t < (n == 1 ? 1 : 2); t++)
        {
            var body = new List<byte> { (byte)((layout.Quant16 ? 0x10 : 0) | t) };
            foreach (var q in quant[t])
            {
                if (layout.Quant16)
                {
                    body.Add(0);
                }
                body.Add((byte)q);
            }
            tableSegments.Add((0xDB, body.ToArray()));
        }
        foreach (var (cls, id, bits, values) in dht)
        {
            tableSegments.Add((0xC4, [(byte)((cls << 4) | id), .. bits, .. values]));
        }
        if (!layout.SplitSegments)
        {
            foreach (var group in tableSegments.GroupBy(s => s.Marker))
            {
                Segment(output, group.Key, [.. group.SelectMany(s => s.Body)]);
            }
        }
        var sof = new List<byte> { 8, (byte)(image.Height >> 8), (byte)image.Height, (byte)(image.Width >> 8), (byte)image.Width, (byte)n };
        for (var c = 0; c < n; c++)
        {
            sof.AddRange([layout.ComponentIds[c], (byte)((sampling[c].H << 4) | sampling[c].V), (byte)(c == 0 ? 0 : 1)]);
        }
        Segment(output, layout.Quant16 ? 0xC1 : 0xC0, [.. sof]);
        if (layout.SplitSegments)
        {
            foreach (var (marker, body) in tableSegments)
            {
                Segment(output, marker, body);
            }
        }
        if (layout.RestartInterval > 0)
        {
            Segment(output, 0xDD, [(byte)(layout.RestartInterval >> 8), (byte)layout.RestartInterval]);
        }
        var sos = new List<byte> { (byte)n };
        for (var c = 0; c < n; c++)
        {
            sos.AddRange([layout.ComponentIds[c], (byte)(c == 0 ? 0x00 : 0x11)]);
        }
        sos.AddRange([0, 63, 0]);
        Segment(output, 0xDA, [.. sos]);

        var writer = new HuffmanCoding.BitWriter(output);
        var rst = 0;
        foreach (var (table, coef) in blocks)
        {
            if (table < 0)
            {
                writer.Flush();
                output.AddRange([0xFF, (byte)(0xD0 + rst)]);
                rst = (rst + 1) & 7;
                continue;
            }
            foreach (var cls in new[] { 0, 1 })
            {
                var code = codes[(cls, table)];
                EncodeBlock(coef, (symbol, bits, size) =>
                {
                    writer.Write(code[symbol].Code, code[symbol].Length);
                    writer.Write(bits, size);
                }, cls);
            }
        }
        writer.Flush();
        output.AddRange([0xFF, 0xD9]);
        return [.. output];
    }

    private static void Segment(List<byte> output, int marker, byte[] body)
    {
        output.AddRange([0xFF, (byte)marker, (byte)((body.Length + 2) >> 8), (byte)(body.Length + 2)]);
        output.AddRange(body);
    }

    private static byte[][] ComponentPlanes(RgbaImage image, JpegLayout layout)
    {
        var count = image.Width * image.Height;
        var planes = new[] { new byte[count], new byte[count], new byte[count] };
        for (var i = 0; i < count; i++)
        {
            double r = image.Pixels[4 * i], g = image.Pixels[(4 * i) + 1], b = image.Pixels[(4 * i) + 2];
            if (layout.Ycc || layout.Components == 1)
            {
                planes[0][i] = Clamp((0.299 * r) + (0.587 * g) + (0.114 * b));
                planes[1][i] = Clamp((-0.168736 * r) - (0.331264 * g) + (0.5 * b) + 128);
                planes[2][i] = Clamp((0.5 * r) - (0.418688 * g) - (0.081312 * b) + 128);
            }
            else
            {
                planes[0][i] = (byte)r;
                planes[1][i] = (byte)g;
                planes[2][i] = (byte)b;
            }
        }
        return planes;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);

    private static byte[] Downsample(byte[] plane, int width, int height, int w, int h, int fx, int fy)
    {
        var result = new byte[w * h];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                int sum = 0, count = 0;
                for (var dy = 0; dy < fy; dy++)
                {
                    for (var dx = 0; dx < fx; dx++)
                    {
                        sum += plane[(Math.Min((y * fy) + dy, height - 1) * width) + Math.Min((x * fx) + dx, width - 1)];
                        count++;
                    }
                }
                result[(y * w) + x] = (byte)((sum + (count / 2)) / count);
            }
        }
        return result;
    }

    /// <summary>Quantised coefficients (zig-zag order) of the block at (x0, y0), edges replicated.</summary>
    private static int[] ForwardDct(byte[] plane, int w, int h, int x0, int y0, int[] quantZigZag)
    {
        var s = new double[64];
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                s[(y * 8) + x] = plane[(Math.Min(y0 + y, h - 1) * w) + Math.Min(x0 + x, w - 1)] - 128.0;
            }
        }
        var result = new int[64];
        for (var i = 0; i < 64; i++)
        {
            int u = Natural[i] % 8, v = Natural[i] / 8;
            var sum = 0.0;
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    sum += s[(y * 8) + x] * Math.Cos(((2 * x) + 1) * u * Math.PI / 16) * Math.Cos(((2 * y) + 1) * v * Math.PI / 16);
                }
            }
            var cu = u == 0 ? Math.Sqrt(0.5) : 1;
            var cv = v == 0 ? Math.Sqrt(0.5) : 1;
            result[i] = (int)Math.Round(sum * cu * cv / 4 / quantZigZag[i]);
        }
        return result;
    }

    private static readonly int[] Natural =
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];

    /// <summary>The symbols of one block's DC (class 0) or AC (class 1) part with their magnitude bits; coef[0] is the DC difference.</summary>
    private static void EncodeBlock(int[] coef, Action<int, int, int> emit, int cls)
    {
        if (cls == 0)
        {
            var size = Category(coef[0]);
            emit(size, Magnitude(coef[0], size), size);
            return;
        }
        var run = 0;
        for (var k = 1; k < 64; k++)
        {
            if (coef[k] == 0)
            {
                run++;
                continue;
            }
            while (run > 15)
            {
                emit(0xF0, 0, 0);
                run -= 16;
            }
            var size = Category(coef[k]);
            emit((run << 4) | size, Magnitude(coef[k], size), size);
            run = 0;
        }
        if (run > 0)
        {
            emit(0, 0, 0);
        }
    }

    private static int Category(int v)
    {
        v = Math.Abs(v);
        var n = 0;
        while (v != 0)
        {
            n++;
            v >>= 1;
        }
        return n;
    }

    private static int Magnitude(int v, int size) => v >= 0 ? v : v + (1 << size) - 1;

    /// <summary>libjpeg-turbo's quality-scaled quantisation tables (zig-zag order), read from a stream it wrote.</summary>
    private static int[][] ReferenceQuantTables(int quality)
    {
        var jpeg = LibjpegEncode(new RgbaImage(16, 16, new byte[16 * 16 * 4]), quality, JpegSamplingFactor.Ratio420);
        var quant = new int[2][];
        var pos = 2;
        while (pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA)
        {
            var marker = jpeg[pos + 1];
            var length = (jpeg[pos + 2] << 8) | jpeg[pos + 3];
            var body = jpeg.AsSpan(pos + 4, length - 2);
            while (marker == 0xDB && body.Length > 0)
            {
                quant[body[0] & 15] = [.. body.Slice(1, 64).ToArray().Select(b => (int)b)];
                body = body[65..];
            }
            pos += 2 + length;
        }
        return quant;
    }

    /// <summary>A baseline JPEG of the image's RGB as libjpeg-turbo writes it (through ImageMagick): standard Huffman tables, integer DCT.</summary>
    public static byte[] LibjpegEncode(RgbaImage image, int quality, JpegSamplingFactor sampling)
    {
        using var magick = new MagickImage(image.Pixels, new PixelReadSettings((uint)image.Width, (uint)image.Height, StorageType.Char, "RGBA"));
        magick.Alpha(AlphaAction.Off);
        magick.Quality = (uint)quality;
        magick.Settings.ColorType = ColorType.TrueColor; // three components even for grey pixels
        return magick.ToByteArray(new JpegWriteDefines { SamplingFactor = sampling, OptimizeCoding = false, DctMethod = JpegDctMethod.Slow });
    }
}
