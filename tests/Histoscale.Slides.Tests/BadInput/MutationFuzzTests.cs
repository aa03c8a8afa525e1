using Histoscale.Slides.Sources;
using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Slides.Tests.Support;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Tests.BadInput;

/// <summary>
/// Mutation fuzzing over real slides: thousands of damaged variants (bit flips, overwritten runs, truncations,
/// mutations aimed at the directories), each opened and read completely within a time bound. The only exception
/// allowed out of the reader is <see cref="SlideException"/>; nothing may hang or crash.
/// </summary>
public sealed class MutationFuzzTests
{
    private static readonly TimeSpan PerFileLimit = TimeSpan.FromSeconds(20);

    /// <summary>Each kind with a fixed seed (not a string hash: those differ per process), so any failure replays.</summary>
    public static TheoryData<string, int, int> Corpus => new()
    {
        { "svs-jpeg", 1200, 1101 },
        { "tiff-lzw", 600, 1202 },
        { "subifd-deflate", 400, 1303 },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void MutatedSlidesOnlyEverFailWithSlideException(string kind, int iterations, int seed)
    {
        var original = File.ReadAllBytes(kind switch
        {
            "svs-jpeg" => TestSlides.Get("fuzz.svs", new SynthOptions { Width = 700, Height = 500, TileSize = 128, Layout = SynthLayout.Svs, Seed = 11 }),
            "tiff-lzw" => TestSlides.Get("fuzz-lzw.tif", new SynthOptions { Width = 500, Height = 400, TileSize = 128, Layout = SynthLayout.Tiff, Compression = TiffWriteCompression.Lzw, Seed = 12 }),
            _ => TestSlides.Get("fuzz-deflate.tif", new SynthOptions { Width = 500, Height = 400, TileSize = 128, Layout = SynthLayout.SubIfd, Compression = TiffWriteCompression.Deflate, Seed = 13 }),
        });
        var directoryStart = FirstDirectoryOffset(original);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var outcomes = new int[2];
        Parallel.For(0, iterations, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var rng = new Random((seed * 31) + i);
            var mutated = Mutate(original, directoryStart, rng, out var mutation);
            var description = $"seed {seed} #{i}: {mutation}";
            var task = Task.Run(() =>
            {
                try
                {
                    using var slide = Slide.Open(new MemorySource(mutated, $"fuzz-{kind}-{i}"), new SlideOptions { Cache = null });
                    BadInputTests.ReadEverything(slide);
                    Interlocked.Increment(ref outcomes[0]);
                }
                catch (SlideException ex)
                {
                    Assert.Contains($"fuzz-{kind}-{i}", ex.Message);
                    Interlocked.Increment(ref outcomes[1]);
                }
            });
            try
            {
                if (!task.Wait(PerFileLimit))
                {
                    failures.Add($"{description}: did not finish within {PerFileLimit.TotalSeconds} s");
                }
            }
            catch (AggregateException ex)
            {
                var inner = ex.InnerException!;
                failures.Add($"{description}: {inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}");
            }
        });
        Assert.True(failures.IsEmpty, $"{failures.Count} of {iterations} mutated files escaped as other exceptions:\n{string.Join("\n", failures.Take(5))}");
        Assert.True(outcomes[1] > iterations / 20, $"only {outcomes[1]} of {iterations} mutations were detected; the fuzzer is not reaching the parser");
    }

    private static byte[] Mutate(byte[] original, long directoryStart, Random rng, out string description)
    {
        var bytes = (byte[])original.Clone();
        switch (rng.Next(5))
        {
            case 0: // bit flips anywhere
                var flips = rng.Next(1, 16);
                for (var k = 0; k < flips; k++)
                {
                    bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                }
                description = $"{flips} bit flips";
                return bytes;
            case 1: // random bytes over the directories, tags and tile tables
                var n = rng.Next(1, 8);
                for (var k = 0; k < n; k++)
                {
                    var at = rng.Next(2) == 0 ? rng.Next(0, 16) : (int)rng.NextInt64(directoryStart, bytes.Length);
                    bytes[at] = (byte)rng.Next(256);
                }
                description = $"{n} bytes in headers/IFDs";
                return bytes;
            case 2: // an overwritten run inside tile data
                var start = rng.Next(16, (int)directoryStart);
                var len = Math.Min(rng.Next(1, 2000), bytes.Length - start);
                rng.NextBytes(bytes.AsSpan(start, len));
                description = $"run of {len} at {start}";
                return bytes;
            case 3: // truncation
                var keep = rng.Next(0, bytes.Length);
                description = $"truncated to {keep}";
                return bytes[..keep];
            default: // interesting values (0, FF.., big numbers) over the directory area
                var m = rng.Next(1, 5);
                byte[][] values = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [1, 0, 0, 0], [0, 0, 0, 0x80]];
                for (var k = 0; k < m; k++)
                {
                    var at = (int)rng.NextInt64(directoryStart, bytes.Length - 4);
                    values[rng.Next(values.Length)].CopyTo(bytes, at);
                }
                description = $"{m} boundary values in IFDs";
                return bytes;
        }
    }

    private static long FirstDirectoryOffset(byte[] bytes)
    {
        using var source = new MemorySource(bytes);
        var tiff = TiffFile.TryOpen(source)!;
        return tiff.Directories.Min(d => d.Offset);
    }
}
