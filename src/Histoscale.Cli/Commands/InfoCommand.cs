using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Histoscale.Slides;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale info SLIDE [--json]</c>: format, geometry, resolution, associated images, properties.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("info", "Show a slide's format, levels, resolution, associated images and properties") { slideArg, json };
        command.SetAction((ParseResult r) =>
        {
            using var slide = Slide.Open(r.GetValue(slideArg)!, HostContext.FromEnvironment().Slides);
            var output = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(ToJson(slide), CliJson.Indented));
            }
            else
            {
                WriteTable(slide, output);
            }
            return 0;
        });
        return command;
    }

    public static SlideInfo ToJson(Slide slide) => new(
        slide.Format,
        slide.Width,
        slide.Height,
        [.. slide.Levels.Select(l => new LevelInfo(l.Width, l.Height, l.Downsample, l.TileWidth, l.TileHeight))],
        slide.MppX,
        slide.MppY,
        slide.ObjectivePower,
        slide.AssociatedImages.ToDictionary(kv => kv.Key, kv => new SizeInfo(kv.Value.Width, kv.Value.Height)),
        new SortedDictionary<string, string>(slide.Properties.ToDictionary(), StringComparer.Ordinal));

    private static void WriteTable(Slide slide, TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine($"file:            {slide.Source}");
        o.WriteLine($"format:          {slide.Format}");
        o.WriteLine($"size:            {slide.Width} x {slide.Height}");
        o.WriteLine($"mpp:             {Fmt(slide.MppX)} x {Fmt(slide.MppY)}");
        o.WriteLine($"objective power: {Fmt(slide.ObjectivePower)}");
        o.WriteLine();
        o.WriteLine("level      width     height   downsample       tile");
        foreach (var l in slide.Levels)
        {
            o.WriteLine(string.Format(ci, "{0,5} {1,10} {2,10} {3,12:0.####} {4,6}x{5}", l.Index, l.Width, l.Height, l.Downsample, l.TileWidth, l.TileHeight));
        }
        if (slide.AssociatedImages.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("associated images:");
            foreach (var a in slide.AssociatedImages.Values)
            {
                o.WriteLine($"  {a.Name,-12} {a.Width} x {a.Height}");
            }
        }
        o.WriteLine();
        o.WriteLine("properties:");
        foreach (var (k, v) in slide.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o.WriteLine($"  {k} = {v.ReplaceLineEndings(" ")}");
        }

        static string Fmt(double? v) => v?.ToString("G6", CultureInfo.InvariantCulture) ?? "-";
    }

    public sealed record LevelInfo(long Width, long Height, double Downsample, int TileWidth, int TileHeight);

    public sealed record SizeInfo(long Width, long Height);

    public sealed record SlideInfo(
        string Format, long Width, long Height, IReadOnlyList<LevelInfo> Levels, double? MppX, double? MppY, double? ObjectivePower,
        IReadOnlyDictionary<string, SizeInfo> AssociatedImages, IReadOnlyDictionary<string, string> Properties);
}
