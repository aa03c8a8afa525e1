using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Pipeline.Inputs;
using Histoscale.Pipeline.Quality;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale qc SLIDES... --out DIR [--json] [--mask-mpp 8] [--max-bad-tiles 1%]</c>: slide quality control (docs/qc.md). Per slide
/// NAME.qc.json and the blur, pen and fold masks; for the run qc-summary.csv and qc-report.html. Exit codes: 0 every
/// slide measured; 2 bad input (flags, unwritable --out, or a slide that is not a readable slide: the others are still
/// measured and reported); 1 anything else.
/// </summary>
public static class QcCommand
{
    public static Command Create()
    {
        var slides = new Argument<string[]>("slides") { Description = "Slides: files, folders, globs (dir/*.svs), @manifest.txt or URIs", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary {\"slides\":[...]} on stdout" };
        var maxBadTiles = new Option<string>("--max-bad-tiles") { Description = "Unreadable (corrupt) tiles a slide may have before it fails, as infer: a count, or a percentage like 1% (of the mask level's tiles, and of the focus samples)", DefaultValueFactory = _ => "1%" };
        var flags = new QcFlags();
        var command = new Command("qc", "Quality control: tissue, blur, pen, folds, stain/exposure per slide, with masks, a CSV summary and an HTML report")
        {
            slides, output, json, maxBadTiles,
        };
        flags.AddTo(command);
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var (badCount, badFraction) = InferCommand.ParseMaxBadTiles(r.GetValue(maxBadTiles)!);
            var options = flags.Read(r) with { MaxBadTiles = badCount, MaxBadTileFraction = badFraction ?? 0.01 };
            var config = r.InvocationConfiguration;
            return await RunAsync(r.GetValue(slides) ?? [], r.GetValue(output)!, options, r.GetValue(json), config.Output, config.Error, ct);
        });
        return command;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> arguments, string outDir, QualityOptions options, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (Pipeline.PipelineConfigException ex)
        {
            throw new InputException(ex.Message);
        }
        var host = HostContext.FromEnvironment();
        var slides = await InferInputs.ExpandAsync(arguments, host.ObjectStores, host.Slides.Formats, cancellationToken);
        if (slides.Count == 0)
        {
            throw new InputException("no slides to check (check the paths, folders, globs or manifests given)");
        }
        var clash = slides.GroupBy(SlideInputs.NameOf, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            throw new InputException($"two slides would write outputs named '{clash.Key}': {string.Join(", ", clash)}");
        }
        try
        {
            Directory.CreateDirectory(outDir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{outDir}: output folder cannot be created ({ex.Message})");
        }

        var rows = new List<QcRow>();
        var worst = CliRunner.Ok;
        foreach (var path in slides)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = SlideInputs.NameOf(path);
            try
            {
                using var slide = Slide.Open(path, host.Slides);
                var quality = QualityControl.Assess(slide, options, cancellationToken);
                var row = QcRow.From(name, path, quality);
                OutputFiles.WriteText(Path.Combine(outDir, name + ".qc.json"), JsonSerializer.Serialize(row.Json(), CliJson.Indented));
                OutputFiles.Save(MaskImage(quality.BlurMask, quality), Path.Combine(outDir, name + ".qc-blur.png"));
                OutputFiles.Save(MaskImage(quality.PenMask, quality), Path.Combine(outDir, name + ".qc-pen.png"));
                OutputFiles.Save(MaskImage(quality.FoldMask, quality), Path.Combine(outDir, name + ".qc-fold.png"));
                rows.Add(row with { Thumbnail = QcReport.Thumbnail(quality) });
                if (!json)
                {
                    stdout.WriteLine(row.Line());
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var input = CliRunner.IsInputError(ex);
                worst = input && worst != CliRunner.Failure ? CliRunner.BadInput : CliRunner.Failure;
                var message = ex.Message.ReplaceLineEndings(" ").Trim();
                stderr.WriteLine($"histoscale: {name}: {message}");
                rows.Add(new QcRow(name, path, null) { Error = message });
            }
        }
        OutputFiles.WriteText(Path.Combine(outDir, "qc-summary.csv"), QcReport.Csv(rows));
        OutputFiles.WriteText(Path.Combine(outDir, "qc-report.html"), QcReport.Html(rows));
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new { slides = rows.Select(r => r.Json()) }, CliJson.Compact));
        }
        else
        {
            stdout.WriteLine($"outputs in {Path.GetFullPath(outDir)} (qc-summary.csv, qc-report.html)");
        }
        return worst;
    }

    /// <summary>A mask as an opaque image: 255 (white) = artifact, 0 = not.</summary>
    private static RgbaImage MaskImage(byte[] mask, SlideQuality quality)
    {
        var pixels = new byte[mask.Length * 4];
        for (var i = 0; i < mask.Length; i++)
        {
            pixels[i * 4] = pixels[(i * 4) + 1] = pixels[(i * 4) + 2] = mask[i];
            pixels[(i * 4) + 3] = 255;
        }
        return new RgbaImage(quality.MaskWidth, quality.MaskHeight, pixels);
    }
}

/// <summary>The thresholds of quality control as flags (shared by <c>qc</c> and <c>infer --qc</c>).</summary>
internal sealed class QcFlags
{
    private static readonly QualityOptions Defaults = new();
    private static string D(double v) => v.ToString(CultureInfo.InvariantCulture);

    public Option<double> MaskMpp { get; } = new("--mask-mpp") { Description = "µm per pixel of the masks and of the low-resolution analysis", DefaultValueFactory = _ => Defaults.MaskMpp };
    public Option<double> MinTissue { get; } = new("--qc-min-tissue") { Description = $"Unusable below this tissue fraction of the slide (default {D(Defaults.MinTissueFraction)})", DefaultValueFactory = _ => Defaults.MinTissueFraction };
    public Option<double> MaxBlur { get; } = new("--qc-max-blur") { Description = $"Unusable above this blurred fraction of tissue (default {D(Defaults.MaxBlurFraction)})", DefaultValueFactory = _ => Defaults.MaxBlurFraction };
    public Option<double> MaxPen { get; } = new("--qc-max-pen") { Description = $"Unusable above this inked fraction of tissue (default {D(Defaults.MaxPenFraction)})", DefaultValueFactory = _ => Defaults.MaxPenFraction };
    public Option<double> MaxFold { get; } = new("--qc-max-fold") { Description = $"Unusable above this folded fraction of tissue (default {D(Defaults.MaxFoldFraction)})", DefaultValueFactory = _ => Defaults.MaxFoldFraction };
    public Option<double> MaxDark { get; } = new("--qc-max-dark") { Description = $"Unusable above this dark fraction of tissue (default {D(Defaults.MaxDarkFraction)})", DefaultValueFactory = _ => Defaults.MaxDarkFraction };
    public Option<double> MaxBright { get; } = new("--qc-max-bright") { Description = $"Unusable above this bright fraction of tissue (default {D(Defaults.MaxBrightFraction)})", DefaultValueFactory = _ => Defaults.MaxBrightFraction };
    public Option<double> BlurRelative { get; } = new("--qc-blur-relative") { Description = $"A tile is blurred below this fraction of the slide's sharp focus reference (default {D(Defaults.BlurRelative)})", DefaultValueFactory = _ => Defaults.BlurRelative };
    public Option<double> FoldRatio { get; } = new("--qc-fold-ratio") { Description = $"A fold is at least this multiple of the median tissue optical density (default {D(Defaults.FoldDensityRatio)})", DefaultValueFactory = _ => Defaults.FoldDensityRatio };
    public Option<int> FocusSamples { get; } = new("--qc-focus-samples") { Description = $"Full-resolution tiles read at most per slide for focus (default {Defaults.MaxFocusSamples})", DefaultValueFactory = _ => Defaults.MaxFocusSamples };

    private Option[] All => [MaskMpp, MinTissue, MaxBlur, MaxPen, MaxFold, MaxDark, MaxBright, BlurRelative, FoldRatio, FocusSamples];

    public void AddTo(Command command)
    {
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The first threshold given on the command line (not defaulted), or null.</summary>
    public string? FirstGiven(ParseResult r) => All.FirstOrDefault(o => r.GetResult(o) is { Implicit: false })?.Name;

    public QualityOptions Read(ParseResult r) => new()
    {
        MaskMpp = r.GetValue(MaskMpp),
        MinTissueFraction = r.GetValue(MinTissue),
        MaxBlurFraction = r.GetValue(MaxBlur),
        MaxPenFraction = r.GetValue(MaxPen),
        MaxFoldFraction = r.GetValue(MaxFold),
        MaxDarkFraction = r.GetValue(MaxDark),
        MaxBrightFraction = r.GetValue(MaxBright),
        BlurRelative = r.GetValue(BlurRelative),
        FoldDensityRatio = r.GetValue(FoldRatio),
        MaxFocusSamples = r.GetValue(FocusSamples),
    };
}
