using Histoscale.Slides.Codecs;
using Histoscale.Slides.Codecs.Jpeg;
using Histoscale.Slides.Tests.Support;
using ImageMagick.Formats;

namespace Histoscale.Slides.Tests.Codecs;

/// <summary>
/// Our JPEG decoder against libjpeg-turbo (ImageMagick's build, read with libjpeg's default integer IDCT and
/// fancy upsampling, on its C code paths: see <see cref="Support.LibjpegReference"/>): pixel-for-pixel equality on streams of many sizes, samplings, qualities, restart intervals and
/// markers, and a clean hand-over to libjpeg-turbo for everything it declines. Every kernel path (<see cref="JpegSimd"/>)
/// the machine runs is held to the same bytes; a path it lacks is skipped, saying so.
/// </summary>
public sealed class JpegDecoderTests
{
    /// <summary>The concrete paths (Auto is whichever of these the machine picks).</summary>
    public static TheoryData<JpegSimd> Paths => [JpegSimd.Scalar, JpegSimd.Vector128, JpegSimd.Avx2];

    private static readonly (int W, int H)[] Sizes =
        [(1, 1), (3, 2), (5, 7), (8, 8), (9, 16), (16, 16), (17, 9), (33, 47), (64, 64), (100, 75), (240, 240), (255, 257), (513, 31)];

    private static readonly (int H, int V)[][] Samplings =
        [[(2, 2), (1, 1), (1, 1)], [(2, 1), (1, 1), (1, 1)], [(1, 1), (1, 1), (1, 1)], [(2, 1), (2, 1), (2, 1)], [(1, 1), (2, 2), (2, 2)]];

    private static readonly int[] Qualities = [50, 80, 95, 100, 20];
    private static readonly int[] Restarts = [0, 1, 3, 0, 7, 2];
    private static readonly string[] Markers = ["jfif", "none", "adobe1", "jfif"];

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void MatchesLibjpegTurboOnGeneratedStreams(JpegSimd simd)
    {
        RequireSupported(simd);
        var i = 0;
        foreach (var (w, h) in Sizes)
        {
            foreach (var sampling in Samplings)
            {
                var layout = new JpegLayout
                {
                    Sampling = sampling,
                    Quality = Qualities[i % Qualities.Length],
                    RestartInterval = Restarts[i % Restarts.Length],
                    Marker = Markers[i % Markers.Length],
                };
                i++;
                AssertMatches(TestImages.Textured(w, h, i), layout, simd);
            }
            AssertMatches(TestImages.Textured(w, h, i), new JpegLayout { Components = 1, Quality = 90, RestartInterval = i % 3, Marker = "none" }, simd);
            // R, G, B coded as they are: Adobe transform 0 (as the reader writes for Photometric RGB) and 'R','G','B' ids.
            AssertMatches(TestImages.Textured(w, h, i), new JpegLayout { Ycc = false, Marker = "adobe0", Sampling = [(1, 1), (1, 1), (1, 1)] }, simd);
            AssertMatches(TestImages.Textured(w, h, i), new JpegLayout { Ycc = false, Marker = "none", ComponentIds = [82, 71, 66], Sampling = [(2, 1), (1, 1), (1, 1)] }, simd);
            // 16-bit quantisation tables (SOF1) and tables defined one per segment after the frame header.
            AssertMatches(TestImages.Textured(w, h, i), new JpegLayout { Quant16 = true, SplitSegments = true, RestartInterval = 4, Marker = "adobe1" }, simd);
        }
    }

    public static TheoryData<JpegSamplingFactor, JpegSimd> LibjpegCases
    {
        get
        {
            var cases = new TheoryData<JpegSamplingFactor, JpegSimd>();
            foreach (var sampling in new[] { JpegSamplingFactor.Ratio420, JpegSamplingFactor.Ratio422, JpegSamplingFactor.Ratio444 })
            {
                foreach (var simd in Paths)
                {
                    cases.Add(sampling, simd);
                }
            }
            return cases;
        }
    }

    [SkippableTheory]
    [MemberData(nameof(LibjpegCases))]
    public void MatchesLibjpegTurboOnItsOwnStreams(JpegSamplingFactor sampling, JpegSimd simd)
    {
        RequireSupported(simd);
        foreach (var (w, h) in Sizes.Where(s => s.W > 4))
        {
            foreach (var quality in new[] { 30, 75, 92, 100 })
            {
                var stream = TestJpegEncoder.LibjpegEncode(TestImages.Textured(w, h, quality), quality, sampling);
                AssertMatches(stream, w, h, $"libjpeg-turbo {sampling} q{quality} {w}x{h}", mustDecode: true, simd);
            }
        }
    }

    /// <summary>
    /// Every supported path, and Auto, against the scalar one on streams chosen to stress the kernels: noise (dense
    /// blocks, large coefficients, colours clipped at 0 and 255) and smooth texture (sparse blocks), every
    /// sampling, widths that leave vector tails, quality 100 and low qualities; RGBA and planar output alike.
    /// </summary>
    [Fact]
    public void EveryPathWritesTheSameBytes()
    {
        var paths = new[] { JpegSimd.Vector128, JpegSimd.Avx2, JpegSimd.Auto }.Where(p => JpegDecoder.Resolve(p) == p || p == JpegSimd.Auto).ToArray();
        var compared = 0;
        foreach (var (w, h) in new[] { (7, 5), (17, 9), (31, 33), (100, 75), (240, 240), (257, 63) })
        {
            foreach (var sampling in Samplings)
            {
                foreach (var (image, quality) in new[] { (Noisy(w, h, w + h), 100), (Noisy(w, h, w * h), 60), (TestImages.Textured(w, h, w), 92), (TestImages.Textured(w, h, h), 30) })
                {
                    var stream = TestJpegEncoder.Encode(image, new JpegLayout { Sampling = sampling, Quality = quality });
                    var (rgba, planes) = DecodeBoth(stream, w, h, JpegSimd.Scalar);
                    var libjpeg = new byte[w * h * 4];
                    JpegCodec.DecodeStream(stream, w, h, libjpeg, w * 4);
                    AssertSameBytes(libjpeg, rgba, w, 4, $"scalar RGBA vs libjpeg-turbo, {w}x{h} q{quality} {string.Join(",", sampling)}");
                    foreach (var path in paths)
                    {
                        var (otherRgba, otherPlanes) = DecodeBoth(stream, w, h, path);
                        AssertSameBytes(rgba, otherRgba, w, 4, $"{path} RGBA, {w}x{h} q{quality} {string.Join(",", sampling)}");
                        AssertSameBytes(planes, otherPlanes, w, 1, $"{path} planar, {w}x{h} q{quality} {string.Join(",", sampling)}");
                        compared++;
                    }
                }
            }
        }
        Assert.True(compared > 0);
    }

    [Fact]
    public void RequestedPathsFallBackToTheBestSupportedOneBelow()
    {
        var best = System.Runtime.Intrinsics.X86.Avx2.IsSupported ? JpegSimd.Avx2
            : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? JpegSimd.Vector128 : JpegSimd.Scalar;
        Assert.Equal(best, JpegDecoder.Resolve(JpegSimd.Auto));
        Assert.Equal(best, JpegDecoder.Resolve(JpegSimd.Avx2));
        Assert.Equal(best == JpegSimd.Scalar ? JpegSimd.Scalar : JpegSimd.Vector128, JpegDecoder.Resolve(JpegSimd.Vector128));
        Assert.Equal(JpegSimd.Scalar, JpegDecoder.Resolve(JpegSimd.Scalar));
        Assert.Throws<ArgumentOutOfRangeException>(() => JpegDecoder.Resolve((JpegSimd)42));
        Assert.Equal(best, JpegCodec.Instance.Simd);
        Assert.Equal(JpegSimd.Scalar, new JpegCodec(JpegSimd.Scalar).Simd);
        Assert.Equal(JpegDecoder.Resolve(JpegSimd.Vector128), new JpegCodec(JpegSimd.Vector128).Simd);
    }

    [Fact]
    public void AllocatesNothingPerTile()
    {
        var stream = TestJpegEncoder.Encode(TestImages.Textured(240, 240, 8), new JpegLayout { RestartInterval = 5 });
        var rgba = new byte[240 * 240 * 4];
        Assert.True(JpegDecoder.TryDecode(stream, 240, 240, rgba, 960)); // first use on this thread sizes its buffers
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            JpegDecoder.TryDecode(stream, 240, 240, rgba, 960);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>What ours declines, the fallback decodes to the picture; what is cut short, it rejects.</summary>
    [Fact]
    public void FallbackDecodesDeclinedStreamsAndRejectsTruncatedOnes()
    {
        var image = TestImages.Textured(64, 48, 4);
        // Frame marker, sample precision and component count each stream must have.
        var streams = new (string Kind, byte[] Stream, byte Sof, int Precision, int Components)[]
        {
            ("progressive", LibjpegEncode(image, m => m.Settings.Interlace = ImageMagick.Interlace.Jpeg, new JpegWriteDefines()), 0xC2, 8, 3),
            ("arithmetic", LibjpegEncode(image, _ => { }, new JpegWriteDefines { ArithmeticCoding = true }), 0xC9, 8, 3),
            ("12-bit", LibjpegEncode(image, m => m.Depth = 12, new JpegWriteDefines { HighBitDepth = true }), 0xC1, 12, 3),
            ("cmyk", LibjpegEncode(image, m => m.ColorSpace = ImageMagick.ColorSpace.CMYK, new JpegWriteDefines()), 0xC0, 8, 4),
        };
        foreach (var (kind, stream, sof, precision, components) in streams)
        {
            var frame = IndexOfMarker(stream, sof);
            Assert.Equal((precision, components), (stream[frame + 4], stream[frame + 9]));
            var rgba = new byte[64 * 48 * 4];
            Assert.False(JpegDecoder.TryDecode(stream, 64, 48, rgba, 256), kind);
            JpegCodec.DecodeCompleteStream(stream, 64, 48, rgba, 256);
            var error = 0.0;
            for (var i = 0; i < rgba.Length; i++)
            {
                error += i % 4 == 3 ? 0 : Math.Abs(rgba[i] - image.Pixels[i]);
            }
            error /= 64 * 48 * 3;
            Assert.True(error < 8, $"{kind}: mean error {error:F1}");
            Assert.All(Enumerable.Range(0, 64 * 48), p => Assert.Equal(255, rgba[(p * 4) + 3]));
            var cut = stream.AsSpan(0, stream.Length * 2 / 3).ToArray();
            Assert.Throws<CodecException>(() => JpegCodec.DecodeCompleteStream(cut, 64, 48, rgba, 256));
        }
    }

    private static byte[] LibjpegEncode(RgbaImage image, Action<ImageMagick.MagickImage> configure, JpegWriteDefines defines)
    {
        using var magick = new ImageMagick.MagickImage(image.Pixels, new ImageMagick.PixelReadSettings((uint)image.Width, (uint)image.Height, ImageMagick.StorageType.Char, "RGBA"));
        magick.Alpha(ImageMagick.AlphaAction.Off);
        magick.Quality = 95;
        configure(magick);
        return magick.ToByteArray(defines);
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void WritesOnlyInsideTheDestinationRows(JpegSimd simd)
    {
        RequireSupported(simd);
        const int w = 37, h = 21, stride = (w * 4) + 12;
        var stream = TestJpegEncoder.Encode(TestImages.Textured(w, h, 5), new JpegLayout());
        var rgba = new byte[stride * h];
        Array.Fill(rgba, (byte)0x5A);
        Assert.True(JpegDecoder.TryDecode(stream, w, h, rgba.AsSpan(0, (stride * (h - 1)) + (w * 4)), stride, simd));
        for (var y = 0; y < h; y++)
        {
            Assert.All(rgba.AsSpan((y * stride) + (w * 4), 12).ToArray(), b => Assert.Equal(0x5A, b));
            Assert.All(Enumerable.Range(0, w), x => Assert.Equal(255, rgba[(y * stride) + (x * 4) + 3]));
        }
    }

    [Fact]
    public void DeclinesWhatItDoesNotImplement()
    {
        var image = TestImages.Textured(40, 24, 2);
        // 4:4:0 (vertical-only chroma halving) and 4:1:1 go to libjpeg's other upsamplers.
        foreach (var sampling in new[] { new[] { (1, 2), (1, 1), (1, 1) }, [(4, 1), (1, 1), (1, 1)] })
        {
            var stream = TestJpegEncoder.Encode(image, new JpegLayout { Sampling = sampling });
            Assert.False(JpegDecoder.TryDecode(stream, 40, 24, new byte[40 * 24 * 4], 160));
            AssertCodecMatchesLibjpeg(stream, 40, 24);
        }
        var baseline = TestJpegEncoder.Encode(image, new JpegLayout());
        var sof = IndexOfMarker(baseline, 0xC0);
        foreach (var other in new byte[] { 0xC2, 0xC3, 0xC9 })
        {
            var changed = baseline.ToArray();
            changed[sof + 1] = other; // progressive, lossless, arithmetic
            Assert.False(JpegDecoder.TryDecode(changed, 40, 24, new byte[40 * 24 * 4], 160));
        }
        var twelveBit = baseline.ToArray();
        twelveBit[sof + 4] = 12;
        Assert.False(JpegDecoder.TryDecode(twelveBit, 40, 24, new byte[40 * 24 * 4], 160));
        Assert.False(JpegDecoder.TryDecode(baseline, 41, 24, new byte[41 * 24 * 4], 164));
    }

    /// <summary>Cut short, or without its EOI: corrupt data our decoder names itself, and which libjpeg-turbo rejects too.</summary>
    [Fact]
    public void TruncatedDataIsCorrupt()
    {
        var stream = TestJpegEncoder.Encode(TestImages.Textured(64, 48, 9), new JpegLayout { RestartInterval = 2 });
        var scan = ScanStart(stream);
        foreach (var keep in new[] { 0.3, 0.6, 0.9, 0.99 })
        {
            var cut = stream.AsSpan(0, scan + (int)((stream.Length - scan) * keep)).ToArray();
            AssertCorrupt(cut, 64, 48, "premature end", $"cut to {keep}");
        }
        // Without its EOI libjpeg (as ImageMagick feeds it) reads past the end and warns of a premature end,
        // though every coded bit is there: so do we.
        AssertCorrupt(stream.AsSpan(0, stream.Length - 2).ToArray(), 64, 48, "premature end", "no EOI");
        // Fewer MCUs than the frame needs, the scan properly ended by EOI.
        var shortScan = stream.AsSpan(0, scan + ((stream.Length - scan) / 2)).ToArray().Concat(new byte[] { 0xFF, 0xD9 }).ToArray();
        AssertCorrupt(shortScan, 64, 48, "", "half the scan, then EOI");
    }

    [Fact]
    public void WrongRestartMarkerIsCorrupt()
    {
        var stream = TestJpegEncoder.Encode(TestImages.Textured(64, 48, 10), new JpegLayout { RestartInterval = 2 });
        var rst0 = IndexOfMarker(stream, 0xD0);
        var wrong = stream.ToArray();
        wrong[rst0 + 1] = 0xD1;
        AssertCorrupt(wrong, 64, 48, "found marker 0xd1 instead of RST0", "RST1 where RST0 is due");
        var skipped = stream.ToArray();
        skipped[IndexOfMarker(stream, 0xD1) + 1] = 0xD2;
        AssertCorrupt(skipped, 64, 48, "instead of RST1", "RST2 where RST1 is due");
    }

    /// <summary>
    /// More stray bytes before a marker than libjpeg's bit buffer reads ahead are corrupt data (libjpeg always
    /// warns); a few are left to libjpeg, which warns of them or not depending on how far it had read.
    /// </summary>
    [Fact]
    public void ExtraneousBytesBeforeAMarkerAreCorrupt()
    {
        var stream = TestJpegEncoder.Encode(TestImages.Textured(64, 48, 11), new JpegLayout { RestartInterval = 3 });
        var rst0 = IndexOfMarker(stream, 0xD0);
        var stray = Enumerable.Repeat((byte)0x12, 12).ToArray();
        AssertCorrupt([.. stream[..rst0], .. stray, .. stream[rst0..]], 64, 48, "12 extraneous bytes before marker 0xd0", "bytes before RST0");
        AssertCorrupt([.. stream[..^2], .. stray, .. stream[^2..]], 64, 48, "12 extraneous bytes before marker 0xd9", "bytes before EOI");
        byte[] few = [.. stream[..^2], 0x56, .. stream[^2..]];
        Assert.False(JpegDecoder.TryDecode(few, 64, 48, new byte[64 * 48 * 4], 256));
        AssertCodecMatchesLibjpeg(few, 64, 48);
    }

    [Fact]
    public void BadHuffmanCodeIsCorrupt()
    {
        var stream = TestJpegEncoder.Encode(TestImages.Textured(64, 48, 12), new JpegLayout());
        var scan = ScanStart(stream);
        // Sixteen 1-bits: the code every table leaves unassigned.
        var withStuffing = stream[..scan].Concat(new byte[] { 0xFF, 0x00, 0xFF, 0x00 }).Concat(stream[(scan + 2)..]).ToArray();
        AssertCorrupt(withStuffing, 64, 48, "bad Huffman code at MCU 0", "sixteen 1-bits at the scan's start");
    }

    /// <summary>
    /// What our decoder declines goes to libjpeg-turbo, whose warnings (extraneous bytes, premature end, bad
    /// Huffman codes) are errors there too (<c>MagickPixels.ReadStrict</c>): a progressive stream, which ours never reads.
    /// </summary>
    [Fact]
    public void FallbackTreatsLibjpegWarningsAsErrors()
    {
        var image = TestImages.Textured(64, 48, 13);
        var stream = LibjpegEncode(image, m => m.Settings.Interlace = ImageMagick.Interlace.Jpeg, new JpegWriteDefines());
        var rgba = new byte[64 * 48 * 4];
        Assert.False(JpegDecoder.TryDecode(stream, 64, 48, rgba, 256));
        JpegCodec.DecodeCompleteStream(stream, 64, 48, rgba, 256);
        // More bytes than libjpeg's bit buffer reads ahead (progressive decoding drops those silently).
        byte[] extraneous = [.. stream[..^2], .. Enumerable.Repeat((byte)0x56, 20), .. stream[^2..]];
        Assert.False(JpegDecoder.TryDecode(extraneous, 64, 48, rgba, 256));
        var ex = Assert.Throws<CodecException>(() => JpegCodec.DecodeCompleteStream(extraneous, 64, 48, rgba, 256));
        Assert.Contains("extraneous", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Mutated streams, each held to libjpeg-turbo's verdict: what we decode, it decodes to the same bytes; what we
    /// call corrupt, it rejects (its warnings are errors); what we decline, the codec hands it over and the outcome
    /// is libjpeg's. Never another exception, never a hang. The seeds are fixed and every failure prints its seed
    /// and iteration (JPEG_FUZZ_SEED replays or varies a run). Corrupt streams carry the huge coefficients the
    /// vector IDCTs hand to the scalar one, so every path runs it.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void CorruptStreamsGetLibjpegsVerdict(JpegSimd simd)
    {
        RequireSupported(simd);
        var seed = int.TryParse(Environment.GetEnvironmentVariable("JPEG_FUZZ_SEED"), out var s) ? s : 1234;
        var sources = new[]
        {
            TestJpegEncoder.Encode(TestImages.Textured(48, 40, 1), new JpegLayout { RestartInterval = 2 }),
            TestJpegEncoder.Encode(TestImages.Textured(48, 40, 2), new JpegLayout { Sampling = [(2, 1), (1, 1), (1, 1)], Quality = 95 }),
            TestJpegEncoder.Encode(TestImages.Textured(48, 40, 3), new JpegLayout { Components = 1, RestartInterval = 1 }),
        };
        var rgba = new byte[48 * 40 * 4];
        var expected = new byte[rgba.Length];
        var outcomes = new Dictionary<string, int> { ["decoded"] = 0, ["declined"] = 0, ["corrupt"] = 0 };
        var failures = new List<string>();
        // JPEG_FUZZ_ITERATIONS lengthens the run for a deliberate soak; the default keeps the suite quick.
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("JPEG_FUZZ_ITERATIONS"), out var n) ? n : 6000;
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var rng = new Random(unchecked((seed * 1_000_003) + iteration));
            var data = sources[iteration % sources.Length].ToArray();
            var mutations = 1 + rng.Next(4);
            for (var m = 0; m < mutations; m++)
            {
                var at = rng.Next(data.Length);
                data[at] = rng.Next(4) switch
                {
                    0 => 0xFF,
                    1 => 0x00,
                    2 => (byte)(data[at] ^ (1 << rng.Next(8))),
                    _ => (byte)rng.Next(256),
                };
            }
            if (rng.Next(5) == 0)
            {
                data = data.AsSpan(0, rng.Next(data.Length)).ToArray();
            }
            string? libjpegError = null;
            try
            {
                JpegCodec.DecodeStream(data, 48, 40, expected, 192);
            }
            catch (CodecException e)
            {
                libjpegError = e.Message;
            }
            string ours;
            try
            {
                ours = JpegDecoder.TryDecode(data, 48, 40, rgba, 192, simd) ? "decoded" : "declined";
            }
            catch (InvalidDataException e)
            {
                ours = "corrupt";
                if (libjpegError is null)
                {
                    failures.Add($"seed {seed} iteration {iteration}: ours rejects ({e.Message}), libjpeg-turbo decodes");
                }
            }
            outcomes[ours]++;
            if (ours == "decoded")
            {
                if (libjpegError is not null)
                {
                    failures.Add($"seed {seed} iteration {iteration}: ours decodes, libjpeg-turbo rejects ({libjpegError})");
                }
                else if (!expected.AsSpan().SequenceEqual(rgba))
                {
                    failures.Add($"seed {seed} iteration {iteration}: ours decodes other pixels than libjpeg-turbo");
                }
            }
            else if (ours == "declined")
            {
                try
                {
                    JpegCodec.DecodeCompleteStream(data, 48, 40, rgba, 192, simd);
                    if (libjpegError is not null)
                    {
                        failures.Add($"seed {seed} iteration {iteration}: the codec decodes what libjpeg-turbo rejects ({libjpegError})");
                    }
                }
                catch (CodecException e) when (libjpegError is null)
                {
                    failures.Add($"seed {seed} iteration {iteration}: the codec rejects ({e.Message}), libjpeg-turbo decodes");
                }
                catch (CodecException)
                {
                }
            }
        }
        var summary = $"{simd}, seed {seed}: {string.Join(", ", outcomes.Select(o => $"{o.Value} {o.Key}"))}";
        Assert.True(failures.Count == 0, $"{summary}; {failures.Count} disagreements with libjpeg-turbo:\n{string.Join("\n", failures.Take(10))}");
        Assert.True(outcomes["decoded"] > 100 && outcomes["corrupt"] > 100, $"{summary}: the mutations no longer reach the decoder");
    }

    private static void RequireSupported(JpegSimd simd) =>
        Skip.If(JpegDecoder.Resolve(simd) != simd,
            $"{simd} kernels are not supported on this {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} machine (a request would run {JpegDecoder.Resolve(simd)})");

    /// <summary>Full-range random pixels: dense blocks with large coefficients and colours that clip.</summary>
    private static RgbaImage Noisy(int w, int h, int seed)
    {
        var pixels = new byte[w * h * 4];
        new Random(seed).NextBytes(pixels);
        return new RgbaImage(w, h, pixels);
    }

    private static (byte[] Rgba, byte[] Planes) DecodeBoth(byte[] stream, int w, int h, JpegSimd simd)
    {
        var rgba = new byte[w * h * 4];
        var planes = new byte[3 * w * h];
        var decoded = JpegDecoder.TryDecode(stream, w, h, rgba, w * 4, simd);
        var planar = JpegDecoder.TryDecodePlanar(stream, w, h, planes.AsSpan(0, w * h), planes.AsSpan(w * h, w * h), planes.AsSpan(2 * w * h), simd);
        Assert.True(decoded && planar, $"{simd}: declined");
        return (rgba, planes);
    }

    private static void AssertSameBytes(byte[] expected, byte[] actual, int w, int bytesPerPixel, string what)
    {
        var i = expected.AsSpan().CommonPrefixLength(actual);
        if (i < expected.Length || expected.Length != actual.Length)
        {
            var pixel = i / bytesPerPixel;
            Assert.Fail($"{what}: first difference at byte {i} (x={pixel % w}, row {pixel / w}): {actual.ElementAtOrDefault(i)}, expected {expected.ElementAtOrDefault(i)}");
        }
    }

    private static void AssertMatches(RgbaImage image, JpegLayout layout, JpegSimd simd)
    {
        var stream = TestJpegEncoder.Encode(image, layout);
        var chromaTooNarrow = layout.Components == 3 && layout.Sampling.Take(3).Any(s => s.H < layout.Sampling.Take(3).Max(t => t.H))
            && image.Width <= 4;
        AssertMatches(stream, image.Width, image.Height, $"{simd} {layout} {image.Width}x{image.Height}", mustDecode: !chromaTooNarrow, simd);
    }

    private static void AssertMatches(byte[] stream, int w, int h, string what, bool mustDecode, JpegSimd simd)
    {
        var expected = new byte[w * h * 4];
        try
        {
            JpegCodec.DecodeStream(stream, w, h, expected, w * 4);
        }
        catch (CodecException e)
        {
            Assert.Fail($"{what}: libjpeg-turbo failed: {e.Message}");
        }
        var actual = new byte[w * h * 4];
        var decoded = JpegDecoder.TryDecode(stream, w, h, actual, w * 4, simd);
        Assert.True(decoded || !mustDecode, $"{what}: declined");
        if (decoded)
        {
            for (var i = 0; i < expected.Length; i++)
            {
                if (expected[i] != actual[i])
                {
                    Assert.Fail($"{what}: first difference at x={i / 4 % w} y={i / 4 / w} channel {i % 4}: ours {actual[i]}, libjpeg-turbo {expected[i]}");
                }
            }
        }
        // The planar output (for NCHW tensors) is the same pixels, split by channel.
        var plane = w * h;
        var planes = new byte[3 * plane];
        var planar = JpegDecoder.TryDecodePlanar(stream, w, h, planes.AsSpan(0, plane), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane, plane), simd);
        Assert.Equal(decoded, planar);
        if (planar)
        {
            for (var i = 0; i < 3 * plane; i++)
            {
                var (c, p) = (i / plane, i % plane);
                if (planes[i] != expected[(p * 4) + c])
                {
                    Assert.Fail($"{what}: planar output differs at x={p % w} y={p / w} channel {c}: ours {planes[i]}, libjpeg-turbo {expected[(p * 4) + c]}");
                }
            }
        }
    }

    /// <summary>Our decoder names the stream corrupt (through the codec too), and libjpeg-turbo rejects it as well.</summary>
    private static void AssertCorrupt(byte[] stream, int w, int h, string cause, string what)
    {
        var rgba = new byte[w * h * 4];
        var ours = Assert.Throws<InvalidDataException>(() => JpegDecoder.TryDecode(stream, w, h, rgba, w * 4));
        Assert.True(ours.Message.StartsWith("corrupt JPEG data: ", StringComparison.Ordinal) && ours.Message.Contains(cause, StringComparison.Ordinal), $"{what}: {ours.Message}");
        var planes = new byte[3 * w * h];
        Assert.Throws<InvalidDataException>(() => JpegDecoder.TryDecodePlanar(stream, w, h, planes.AsSpan(0, w * h), planes.AsSpan(w * h, w * h), planes.AsSpan(2 * w * h)));
        Assert.Equal(ours.Message, Assert.Throws<CodecException>(() => JpegCodec.DecodeCompleteStream(stream, w, h, rgba, w * 4)).Message);
        Assert.Throws<CodecException>(() => JpegCodec.DecodeStream(stream, w, h, rgba, w * 4));
    }

    /// <summary>Offset of the first entropy-coded byte (after the SOS segment).</summary>
    private static int ScanStart(byte[] stream)
    {
        var sos = IndexOfMarker(stream, 0xDA);
        return sos + 2 + ((stream[sos + 2] << 8) | stream[sos + 3]);
    }

    private static void AssertCodecMatchesLibjpeg(byte[] stream, int w, int h)
    {
        var expected = new byte[w * h * 4];
        var actual = new byte[w * h * 4];
        Exception? libjpegError = null;
        try
        {
            JpegCodec.DecodeStream(stream, w, h, expected, w * 4);
        }
        catch (CodecException e)
        {
            libjpegError = e;
        }
        if (libjpegError is null)
        {
            JpegCodec.DecodeCompleteStream(stream, w, h, actual, w * 4);
            Assert.Equal(expected, actual);
        }
        else
        {
            Assert.Throws<CodecException>(() => JpegCodec.DecodeCompleteStream(stream, w, h, actual, w * 4));
        }
    }

    private static int IndexOfMarker(byte[] stream, byte marker)
    {
        for (var i = 0; i + 1 < stream.Length; i++)
        {
            if (stream[i] == 0xFF && stream[i + 1] == marker)
            {
                return i;
            }
        }
        throw new InvalidOperationException("marker not found");
    }
}
