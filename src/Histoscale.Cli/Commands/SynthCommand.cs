using System.CommandLine;
using System.Globalization;
using Histoscale.Slides.Writing;
using Histoscale.Synthesis;
using Histoscale.Slides.Tiff;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale synth OUT --width W --height H ...</c>: writes a synthetic H&amp;E slide.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("out") { Description = "Output file (.svs or .tif)" };
        var width = new Option<int>("--width") { Required = true, Description = "Level-0 width in pixels" };
        var height = new Option<int>("--height") { Required = true, Description = "Level-0 height in pixels" };
        var tile = new Option<int>("--tile") { DefaultValueFactory = _ => 240, Description = "Tile size (multiple of 16)" };
        var quality = new Option<int>("--quality") { DefaultValueFactory = _ => 80, Description = "JPEG quality 1..100" };
        var layout = new Option<string>("--layout") { DefaultValueFactory = _ => "svs", Description = "svs | tiff | subifd" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1, Description = "Random seed; same seed, same file" };
        var compression = new Option<string>("--compression") { DefaultValueFactory = _ => "jpeg", Description = "jpeg | lzw | deflate | none" };
        var bigTiff = new Option<bool>("--bigtiff") { Description = "Always write BigTIFF (otherwise only when over 4 GiB)" };
        var encoder = new Option<string>("--jpeg-encoder") { DefaultValueFactory = _ => "standard", Description = "standard (all tables shared, as Aperio writes) | optimized (per-tile Huffman tables)" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "Worker threads" };

        var command = new Command("synth", "Write a realistic synthetic H&E whole-slide image (pyramidal TIFF/SVS) for demos, tests and benchmarks")
        {
            output, width, height, tile, quality, layout, seed, compression, bigTiff, encoder, threads,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var options = new SynthOptions
            {
                Width = r.GetValue(width),
                Height = r.GetValue(height),
                TileSize = r.GetValue(tile),
                Quality = r.GetValue(quality),
                Seed = r.GetValue(seed),
                Layout = ParseLayout(r.GetValue(layout)),
                Compression = ParseCompression(r.GetValue(compression)),
                Format = r.GetValue(bigTiff) ? TiffFormat.BigTiff : TiffFormat.Auto,
                JpegEncoder = ParseEncoder(r.GetValue(encoder)),
                MaxDegreeOfParallelism = r.GetValue(threads),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new InputException($"synth: {ex.Message}");
            }
            var path = r.GetValue(output)!;
            var result = SlideSynthesizer.Write(path, options, ct);
            var c = CultureInfo.InvariantCulture;
            r.InvocationConfiguration.Output.WriteLine(string.Create(c,
                $"{path}: {options.Width}x{options.Height}, {result.Levels.Count} levels, {result.FileBytes} bytes{(result.BigTiff ? " (BigTIFF)" : "")}, {result.Elapsed.TotalSeconds:F1} s"));
            return Task.FromResult(0);
        });
        return command;
    }

    private static SynthLayout ParseLayout(string? s) => s?.ToLowerInvariant() switch
    {
        "svs" => SynthLayout.Svs,
        "tiff" => SynthLayout.Tiff,
        "subifd" => SynthLayout.SubIfd,
        _ => throw new InputException($"synth: unknown --layout '{s}' (svs, tiff or subifd)"),
    };

    private static TiffWriteCompression ParseCompression(string? s) => s?.ToLowerInvariant() switch
    {
        "jpeg" => TiffWriteCompression.Jpeg,
        "lzw" => TiffWriteCompression.Lzw,
        "deflate" => TiffWriteCompression.Deflate,
        "none" => TiffWriteCompression.None,
        _ => throw new InputException($"synth: unknown --compression '{s}' (jpeg, lzw, deflate or none)"),
    };

    private static JpegEncoderKind ParseEncoder(string? s) => s?.ToLowerInvariant() switch
    {
        "standard" => JpegEncoderKind.StandardHuffman,
        "optimized" => JpegEncoderKind.OptimizedHuffman,
        _ => throw new InputException($"synth: unknown --jpeg-encoder '{s}' (standard or optimized)"),
    };
}
