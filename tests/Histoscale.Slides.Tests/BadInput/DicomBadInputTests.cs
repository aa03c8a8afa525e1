using System.Buffers.Binary;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Formats;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.BadInput;

/// <summary>Broken DICOM series and files: a <see cref="SlideException"/> naming the file and what and where, nothing else.</summary>
public sealed class DicomBadInputTests
{
    private static DicomWsiInstance Level(int level, string uid = "1.2.7.1")
    {
        var (w, h, tile, frames) = DicomTestSeries.JpegLevels(DicomFormatTests.Source)[level];
        return new DicomWsiInstance { SopInstanceUid = uid, Columns = tile, Rows = tile, TotalColumns = w, TotalRows = h, Frames = frames, PixelSpacing = (0.0005, 0.0005), ObjectiveLensPower = 20, BasicOffsetTable = true };
    }

    [Fact]
    public void AMissingInstanceOfALevelIsNamed()
    {
        using var dir = new TempDir();
        DicomTestSeries.WriteJpegSeries(DicomFormatTests.Source, dir.Path, concatenateLevel0: true);
        File.Delete(dir.File("level0-part2.dcm"));
        var frames = DicomTestSeries.JpegLevels(DicomFormatTests.Source)[0].Frames.Count;
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dir.Path));
        Assert.Equal(0, ex.Level);
        Assert.Contains("level0-part1.dcm", ex.File);
        Assert.Contains($"needs {frames} frames, its 1 instance(s) hold {frames / 2}", ex.Message);
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void FewerFramesThanTheMatrixNeeds()
    {
        using var dir = new TempDir();
        var spec = Level(1);
        DicomWsiWriter.Write(dir.File("short.dcm"), spec with { Frames = spec.Frames.Take(spec.Frames.Count - 2).ToList() });
        var ex = Assert.Throws<SlideException>(() => Slide.Open(dir.File("short.dcm")));
        Assert.Contains($"needs {spec.Frames.Count} frames", ex.Message);
        Assert.Contains("short.dcm", ex.Message);

        // Number of Frames claiming more than the pixel data holds, no offset table to say where they are.
        DicomWsiWriter.Write(dir.File("claims.dcm"), spec with { NumberOfFrames = spec.Frames.Count + 5, BasicOffsetTable = false });
        ex = Assert.Throws<SlideException>(() => Slide.Open(dir.File("claims.dcm")));
        Assert.Contains($"{spec.Frames.Count} fragments for {spec.Frames.Count + 5} frames", ex.Message);
    }

    [Fact]
    public void TruncatedFilesNameTheFileAndWhere()
    {
        using var dir = new TempDir();
        var bytes = DicomWsiWriter.ToBytes(Level(2));
        var pixelData = IndexOf(bytes, [0xE0, 0x7F, 0x10, 0x00]);
        foreach (var keep in new[] { 0, 100, 140, 300, pixelData, pixelData + 30, bytes.Length - 100, bytes.Length - 4 })
        {
            var path = dir.File($"cut-{keep}.dcm");
            File.WriteAllBytes(path, bytes[..keep]);
            var ex = Assert.Throws<SlideException>(() => Slide.Open(path));
            Assert.Equal(path, ex.File);
            if (keep > pixelData)
            {
                Assert.True(ex.Message.Contains("(7FE0,0010) at offset", StringComparison.Ordinal), ex.Message);
            }
            else if (keep < 132)
            {
                Assert.Contains("not a DICOM Part 10 file", ex.Message);
            }
        }
    }

    [Fact]
    public void ACtSliceIsNotAWholeSlideImage()
    {
        var ct = DicomWsiWriter.ToBytes(new DicomWsiInstance
        {
            SopClass = "1.2.840.10008.5.1.4.1.1.2",
            Modality = "CT",
            SopInstanceUid = "1.2.8.1",
            ImageType = "ORIGINAL\\PRIMARY\\AXIAL",
            Columns = 16,
            Rows = 16,
            SamplesPerPixel = 1,
            Photometric = "MONOCHROME2",
            TransferSyntax = DicomWsiInstance.ImplicitLittle,
            Frames = [new byte[256]],
        });
        var ex = Assert.Throws<SlideException>(() => Slide.Open(new MemorySource(ct, "ct.dcm")));
        Assert.Equal("ct.dcm: not a whole-slide image: SOP class 1.2.840.10008.5.1.4.1.1.2, modality CT; only VL Whole Slide Microscopy Image Storage (1.2.840.10008.5.1.4.1.1.77.1.6) is read", ex.Message);
    }

    [Theory]
    [InlineData("1.2.840.10008.1.2.4.80", "JPEG-LS")]
    [InlineData("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000")]
    [InlineData("1.2.3.4.5.6", null)]
    public void AnUnsupportedTransferSyntaxIsNamedByItsUid(string syntax, string? name)
    {
        var bytes = DicomWsiWriter.ToBytes(Level(2) with { TransferSyntax = syntax });
        var ex = Assert.Throws<SlideException>(() => Slide.Open(new MemorySource(bytes, "x.dcm")));
        Assert.StartsWith($"x.dcm: unsupported DICOM transfer syntax {syntax}", ex.Message);
        if (name is not null)
        {
            Assert.Contains(name, ex.Message);
        }
    }

    [Fact]
    public void ACorruptFrameNamesTheLevelAndTile()
    {
        var spec = Level(1);
        var frames = spec.Frames.ToList();
        frames[1] = [.. frames[1].Take(frames[1].Length / 2)]; // a frame cut in half
        var bytes = DicomWsiWriter.ToBytes(spec with { Frames = frames });
        using var slide = Slide.Open(new MemorySource(bytes, "frames.dcm"), new SlideOptions { Cache = null });
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 0, 0, (int)slide.Width, (int)slide.Height));
        Assert.Equal((0, (1L, 0L)), (ex.Level!.Value, ex.Tile!.Value));
        Assert.True(ex.IsCorruptData);
    }

    [Fact]
    public void ADotDcmFileWithoutThePreambleIsNotDicom()
    {
        var ex = Assert.Throws<SlideException>(() => Slide.Open(new MemorySource(new byte[500], "zeros.dcm")));
        Assert.Equal("zeros.dcm: not a DICOM Part 10 file (no \"DICM\" after the 128-byte preamble)", ex.Message);
    }

    [Fact]
    public void AHugeBasicOffsetTableLengthIsCorruptDataNotAnAllocation()
    {
        using var dir = new TempDir();
        var bytes = DicomWsiWriter.ToBytes(Level(2));
        var pixelData = IndexOf(bytes, [0xE0, 0x7F, 0x10, 0x00]);
        const uint claimed = 96u * 1024 * 1024; // a multiple of 4, within the (sparse) file, beyond any real table
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(pixelData + 16), claimed);
        var path = dir.File("bot.dcm");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            file.Write(bytes);
            file.SetLength(bytes.Length + claimed + 1024L);
        }
        var ex = Assert.Throws<SlideException>(() => Slide.Open(path));
        Assert.Equal(path, ex.File);
        Assert.True(ex.IsCorruptData);
        Assert.Contains("(7FE0,0010) at offset", ex.Message);
        Assert.Contains($"Basic Offset Table length {claimed} is larger than", ex.Message);
    }

    [Fact]
    public void AnIconImageSequenceWithEncapsulatedPixelDataIsNotBadInput()
    {
        var spec = Level(2);
        // JPEG-like fragments: read as data elements they would be a tag FFD8 and an invalid VR.
        byte[][] icon = [[0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x01], [0xFF, 0xD9, 0x00, 0x00]];
        var bytes = DicomWsiWriter.ToBytes(spec with { IconFragments = icon });
        var plain = DicomWsiWriter.ToBytes(spec);
        using var expected = Slide.Open(new MemorySource(plain, "plain.dcm"), new SlideOptions { Cache = null });
        using var slide = Slide.Open(new MemorySource(bytes, "icon.dcm"), new SlideOptions { Cache = null });
        Assert.True(bytes.Length > plain.Length);
        Assert.Equal((expected.Width, expected.Height), (slide.Width, slide.Height));
        Assert.Equal(
            expected.ReadRegion(0, 0, 0, (int)expected.Width, (int)expected.Height).Pixels,
            slide.ReadRegion(0, 0, 0, (int)slide.Width, (int)slide.Height).Pixels);
    }

    /// <summary>Fixed seeds (printed on failure), bounded time per file: mutated instances only ever fail with SlideException.</summary>
    [Theory]
    [InlineData("jpeg-explicit", 400, 2101)]
    [InlineData("native-implicit", 300, 2202)]
    public void MutatedInstancesOnlyEverFailWithSlideException(string kind, int iterations, int seed)
    {
        var original = kind == "jpeg-explicit"
            ? DicomWsiWriter.ToBytes(Level(2) with { FragmentsPerFrame = 2 })
            : DicomWsiWriter.ToBytes(new DicomWsiInstance
            {
                SopInstanceUid = "1.2.9",
                Columns = 32,
                Rows = 32,
                TotalColumns = 70,
                TotalRows = 40,
                Photometric = "RGB",
                TransferSyntax = DicomWsiInstance.ImplicitLittle,
                Frames = [.. Enumerable.Range(0, 6).Select(i => Enumerable.Repeat((byte)(i * 40), 32 * 32 * 3).ToArray())],
                PixelSpacing = (0.001, 0.001),
                ObjectiveLensPower = 40,
                UndefinedLengthSequences = false,
            });
        var pixelData = IndexOf(original, [0xE0, 0x7F, 0x10, 0x00]);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var detected = 0;
        Parallel.For(0, iterations, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var rng = new Random((seed * 31) + i);
            var bytes = (byte[])original.Clone();
            string mutation;
            switch (rng.Next(4))
            {
                case 0:
                    var n = rng.Next(1, 6);
                    for (var k = 0; k < n; k++)
                    {
                        bytes[rng.Next(128, pixelData + 40)] ^= (byte)(1 << rng.Next(8));
                    }
                    mutation = $"{n} bit flips in the header";
                    break;
                case 1:
                    byte[][] values = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0xFE, 0xFF, 0x00, 0xE0], [0xFE, 0xFF, 0xDD, 0xE0]];
                    var at = rng.Next(132, Math.Min(bytes.Length - 4, pixelData + 60));
                    values[rng.Next(values.Length)].CopyTo(bytes, at);
                    mutation = $"boundary value at {at}";
                    break;
                case 2:
                    var keep = rng.Next(0, bytes.Length);
                    bytes = bytes[..keep];
                    mutation = $"truncated to {keep}";
                    break;
                default:
                    var flips = rng.Next(1, 20);
                    for (var k = 0; k < flips; k++)
                    {
                        bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    }
                    mutation = $"{flips} bit flips anywhere";
                    break;
            }
            var name = $"fuzz-{kind}-{i}.dcm";
            var task = Task.Run(() =>
            {
                try
                {
                    using var slide = Slide.Open(new MemorySource(bytes, name), new SlideOptions { Cache = null });
                    BadInputTests.ReadEverything(slide);
                }
                catch (SlideException ex)
                {
                    Assert.Contains(name, ex.Message);
                    Interlocked.Increment(ref detected);
                }
            });
            try
            {
                if (!task.Wait(TimeSpan.FromSeconds(20)))
                {
                    failures.Add($"seed {seed} #{i} ({mutation}): did not finish within 20 s");
                }
            }
            catch (AggregateException ex)
            {
                failures.Add($"seed {seed} #{i} ({mutation}): {ex.InnerException!.GetType().Name}: {ex.InnerException.Message}\n{ex.InnerException.StackTrace}");
            }
        });
        Assert.True(failures.IsEmpty, $"{failures.Count} of {iterations} mutated files escaped:\n{string.Join("\n", failures.Take(5))}");
        Assert.True(detected > iterations / 10, $"only {detected} of {iterations} mutations were detected; the fuzzer is not reaching the parser");
    }

    private static int IndexOf(byte[] bytes, byte[] pattern) => bytes.AsSpan().LastIndexOf(pattern);
}
