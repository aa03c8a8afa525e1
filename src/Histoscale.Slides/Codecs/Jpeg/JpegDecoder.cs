using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>
/// Our own decoder for the JPEG streams whole-slide images are made of: baseline and extended-sequential
/// Huffman, 8-bit, grayscale or three components sampled 4:4:4, 4:2:2 or 4:2:0, with or without restart
/// intervals. Output is bit-exact with libjpeg-turbo's defaults (ISLOW IDCT, fancy upsampling, its YCbCr
/// tables). Whatever else — progressive, arithmetic, 12-bit, CMYK, other sampling, unusual marker segments — is
/// declined, and the caller gives the stream to libjpeg-turbo, which then decides how it looks or whether it
/// fails. Scan data that is corrupt or truncated (a bad Huffman code, a premature end, extraneous bytes before a
/// marker beyond what libjpeg may silently skip, a wrong restart marker, fewer MCUs than the frame needs) is not
/// declined but rejected with an
/// <see cref="InvalidDataException"/> naming the cause: libjpeg-turbo only warns of these and pads with grey,
/// and a slide tile like that must fail, never pass as pixels.
/// Thread-safe: each thread decodes with its own reusable tables and planes, so a tile allocates nothing. The
/// vector kernels are chosen per call (<see cref="JpegSimd"/>), not by process-wide state, so callers and tests
/// can run different paths side by side.
/// The per-tile kernels are marked AggressiveOptimization: when every core is decoding, the runtime's background
/// tier-up compiler gets no CPU and unoptimised (tier-0/instrumented) kernels ran for much of a short slide
/// (perf showed ~15 % of a 3 s pipeline run in them).
/// </summary>
public static class JpegDecoder
{
    /// <summary>
    /// The path a request for <paramref name="requested"/> runs on this machine: itself when the hardware supports
    /// it, else the best supported path below it (Avx2 → Vector128 → Scalar). Never <see cref="JpegSimd.Auto"/>.
    /// </summary>
    public static JpegSimd Resolve(JpegSimd requested)
    {
        if ((uint)requested > (uint)JpegSimd.Scalar)
        {
            throw new ArgumentOutOfRangeException(nameof(requested), requested, "not a JpegSimd value");
        }
        if (requested is JpegSimd.Auto or JpegSimd.Avx2 && Avx2.IsSupported)
        {
            return JpegSimd.Avx2;
        }
        return requested != JpegSimd.Scalar && Vector128.IsHardwareAccelerated ? JpegSimd.Vector128 : JpegSimd.Scalar;
    }

    /// <summary>
    /// Decodes a complete JPEG stream of exactly <paramref name="width"/> × <paramref name="height"/> into RGBA
    /// rows <paramref name="stride"/> bytes apart. False (destination contents then unspecified) when the
    /// stream is of a kind or condition this decoder leaves to libjpeg. <paramref name="simd"/> picks the kernels
    /// (see <see cref="Resolve"/>); every choice writes the same bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">The scan data is corrupt or truncated; the message says how ("corrupt JPEG data: bad Huffman code at MCU 37 of 100").</exception>
    public static bool TryDecode(ReadOnlySpan<byte> stream, int width, int height, Span<byte> rgba, int stride, JpegSimd simd = JpegSimd.Auto)
    {
        var path = Resolve(simd);
        if (width <= 0 || height <= 0)
        {
            return false; // libjpeg's size check then words the complaint
        }
        if (stride < width * 4L || rgba.Length < ((long)stride * (height - 1)) + (width * 4L))
        {
            throw new ArgumentException("destination too small", nameof(rgba));
        }
        var frame = JpegFrame.ForThisThread();
        try
        {
            if (!DecodeSamples(stream, width, height, frame, path))
            {
                return false;
            }
            WriteRows(frame, new RgbaRows(rgba, stride, width, path), path);
            return true;
        }
        finally
        {
            frame.Trim();
        }
    }

    /// <summary>
    /// As <see cref="TryDecode"/>, but writes three planes (R, G, B; rows <paramref name="width"/> bytes apart)
    /// instead of RGBA pixels — the layout of an NCHW tensor. The same bytes as the RGBA output's channels.
    /// </summary>
    /// <exception cref="InvalidDataException">The scan data is corrupt or truncated.</exception>
    public static bool TryDecodePlanar(ReadOnlySpan<byte> stream, int width, int height, Span<byte> red, Span<byte> green, Span<byte> blue, JpegSimd simd = JpegSimd.Auto)
    {
        var path = Resolve(simd);
        if (width <= 0 || height <= 0)
        {
            return false;
        }
        var plane = (long)width * height;
        if (red.Length < plane || green.Length < plane || blue.Length < plane)
        {
            throw new ArgumentException("destination planes too small");
        }
        var frame = JpegFrame.ForThisThread();
        try
        {
            if (!DecodeSamples(stream, width, height, frame, path))
            {
                return false;
            }
            WriteRows(frame, new PlanarRows(red, green, blue, width, path), path);
            return true;
        }
        finally
        {
            frame.Trim();
        }
    }

    /// <summary>Headers and scan into the frame's component planes; false for what this decoder leaves to libjpeg.</summary>
    private static bool DecodeSamples(ReadOnlySpan<byte> stream, int width, int height, JpegFrame frame, JpegSimd path)
    {
        frame.Reset();
        var start = JpegMarkers.ReadHeaders(stream, frame);
        return start >= 0 && frame.Width == width && frame.Height == height && frame.Layout() && DecodeScan(stream, start, frame, path);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool DecodeScan(ReadOnlySpan<byte> stream, int start, JpegFrame frame, JpegSimd path)
    {
        var entropy = new EntropyDecoder(stream, start);
        var planes = frame.Planes.AsSpan();
        var block = frame.Block.AsSpan();
        Span<int> predictors = stackalloc int[3];
        var interval = frame.RestartInterval;
        var untilRestart = interval;
        var nextRestart = 0;
        var count = frame.ComponentCount;
        var mcus = frame.McusX * frame.McusY;
        for (var my = 0; my < frame.McusY; my++)
        {
            for (var mx = 0; mx < frame.McusX; mx++)
            {
                if (interval != 0)
                {
                    if (untilRestart == 0)
                    {
                        switch (entropy.Restart(nextRestart, out var cause))
                        {
                            case SegmentEnd.Corrupt:
                                throw Corrupt($"{cause} at MCU {(my * frame.McusX) + mx} of {mcus}");
                            case SegmentEnd.Decline:
                                return false;
                        }
                        nextRestart = (nextRestart + 1) & 7;
                        untilRestart = interval;
                        predictors.Clear();
                    }
                    untilRestart--;
                }
                for (var s = 0; s < count; s++)
                {
                    var ci = frame.ScanOrder[s];
                    ref var c = ref frame.Components[ci];
                    var dc = frame.DcTables[c.DcTable];
                    var ac = frame.AcTables[c.AcTable];
                    var quant = frame.Quant.AsSpan(c.QuantTable * 64, 64);
                    // In a non-interleaved (single-component) scan an MCU is one block.
                    int h = count == 1 ? 1 : c.H, v = count == 1 ? 1 : c.V;
                    for (var by = 0; by < v; by++)
                    {
                        var rowOffset = c.PlaneOffset + ((((my * v) + by) * 8) * c.PlaneStride);
                        for (var bx = 0; bx < h; bx++)
                        {
                            var offset = rowOffset + ((((mx * h) + bx) * 8));
                            var extent = entropy.DecodeBlock(dc, ac, ref predictors[ci], block);
                            if (extent < 0)
                            {
                                throw Corrupt($"bad Huffman code at MCU {(my * frame.McusX) + mx} of {mcus}");
                            }
                            if (extent == 1)
                            {
                                Idct.FillDc(block[0] * quant[0], planes, offset, c.PlaneStride);
                                block[0] = 0;
                            }
                            else
                            {
                                var within4x4 = extent <= 10;
                                Idct.Transform(block, quant, planes, offset, c.PlaneStride, path, within4x4);
                                // Only rows 0-3 can be non-zero in a 4×4 block.
                                block[..(within4x4 ? 32 : 64)].Clear();
                            }
                        }
                    }
                }
            }
        }
        var end = entropy.Finish(out var next, out var ending);
        if (end == SegmentEnd.Corrupt)
        {
            throw Corrupt($"{ending} (scan of {mcus} MCUs)");
        }
        // Another segment before EOI (a second scan, DNL, an application marker) is legal JPEG we do not read.
        return end == SegmentEnd.Clean && next == JpegMarkers.Eoi;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidDataException Corrupt(string cause) => new($"corrupt JPEG data: {cause}");

    /// <summary>
    /// Walks the decoded image row by row at full resolution (upsampling chroma where needed) and hands each row to
    /// <paramref name="rows"/>, which only decides how to store it: RGBA pixels or R, G, B planes. Generic over a
    /// ref struct so each output gets its own compiled copy with the store inlined.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteRows<TRows>(JpegFrame frame, TRows rows, JpegSimd path) where TRows : IRowWriter, allows ref struct
    {
        var planes = frame.Planes.AsSpan();
        var width = frame.Width;
        if (frame.ComponentCount == 1)
        {
            ref var g = ref frame.Components[0];
            for (var y = 0; y < frame.Height; y++)
            {
                rows.Gray(planes.Slice(g.PlaneOffset + (y * g.PlaneStride), width), y);
            }
            return;
        }
        var rowLength = frame.Rows.Length / 3;
        var sums = frame.ColumnSums.AsSpan();
        for (var y = 0; y < frame.Height; y++)
        {
            var c0 = ComponentRow(frame, 0, y, path, planes, frame.Rows.AsSpan(0, rowLength), sums);
            var c1 = ComponentRow(frame, 1, y, path, planes, frame.Rows.AsSpan(rowLength, rowLength), sums);
            var c2 = ComponentRow(frame, 2, y, path, planes, frame.Rows.AsSpan(2 * rowLength, rowLength), sums);
            rows.Colour(c0, c1, c2, frame.IsRgb, y);
        }
    }

    /// <summary>How one output stores a full-resolution row (grey, or three components that are RGB or YCbCr).</summary>
    private interface IRowWriter
    {
        void Gray(ReadOnlySpan<byte> gray, int y);

        void Colour(ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, bool rgb, int y);
    }

    /// <summary>Rows of RGBA pixels, <c>stride</c> bytes apart.</summary>
    private readonly ref struct RgbaRows(Span<byte> rgba, int stride, int width, JpegSimd path) : IRowWriter
    {
        private readonly Span<byte> _rgba = rgba;

        public void Gray(ReadOnlySpan<byte> gray, int y) => ColorConverter.GrayToRgba(gray, width, _rgba.Slice(y * stride, width * 4));

        public void Colour(ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, bool rgb, int y)
        {
            var output = _rgba.Slice(y * stride, width * 4);
            if (rgb)
            {
                ColorConverter.RgbToRgba(c0, c1, c2, width, output);
            }
            else
            {
                ColorConverter.YCbCrToRgba(c0, c1, c2, width, output, path);
            }
        }
    }

    /// <summary>Rows of three planes R, G, B, each <c>width</c> bytes a row.</summary>
    private readonly ref struct PlanarRows(Span<byte> red, Span<byte> green, Span<byte> blue, int width, JpegSimd path) : IRowWriter
    {
        private readonly Span<byte> _red = red;
        private readonly Span<byte> _green = green;
        private readonly Span<byte> _blue = blue;

        public void Gray(ReadOnlySpan<byte> gray, int y)
        {
            gray.CopyTo(_red.Slice(y * width, width));
            gray.CopyTo(_green.Slice(y * width, width));
            gray.CopyTo(_blue.Slice(y * width, width));
        }

        public void Colour(ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, bool rgb, int y)
        {
            var r = _red.Slice(y * width, width);
            var g = _green.Slice(y * width, width);
            var b = _blue.Slice(y * width, width);
            if (rgb)
            {
                c0[..width].CopyTo(r);
                c1[..width].CopyTo(g);
                c2[..width].CopyTo(b);
            }
            else
            {
                ColorConverter.YCbCrToPlanar(c0, c1, c2, width, r, g, b, path);
            }
        }
    }

    /// <summary>Component <paramref name="ci"/>'s samples for output row <paramref name="y"/> at full resolution.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ReadOnlySpan<byte> ComponentRow(JpegFrame frame, int ci, int y, JpegSimd path, ReadOnlySpan<byte> planes, Span<byte> scratch, Span<short> sums)
    {
        ref var c = ref frame.Components[ci];
        if (c.ScaleX == 1 && c.ScaleY == 1)
        {
            return planes[(c.PlaneOffset + (y * c.PlaneStride))..];
        }
        var nearRow = c.ScaleY == 2 ? y >> 1 : y;
        var near = planes[(c.PlaneOffset + (nearRow * c.PlaneStride))..];
        var far = near;
        if (c.ScaleY == 2)
        {
            far = planes[(c.PlaneOffset + (Upsampler.NeighbourRow(y, c.Height) * c.PlaneStride))..];
        }
        Upsampler.Row(near, far, c.ScaleY == 2, c.Width, sums, scratch, path);
        return scratch;
    }
}
