using System.Globalization;
using ImageMagick;
using ImageMagick.Drawing;

namespace Histoscale.Cli.Plots;

/// <summary>One series of a chart panel: points (scatter, with optional labels) or a line.</summary>
internal sealed record Series(string Name, double[] X, double[] Y, string Color, bool Line, string[]? Labels = null);

/// <summary>One panel: axes (linear or log10), a title and its series.</summary>
internal sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series, bool LogX = false, bool LogY = false);

/// <summary>
/// Small PNG charts drawn with the product's one imaging library (Magick.NET): panels stacked vertically, ticks,
/// labels, legend. Enough for the cost map and the simulator's timeline; not a general charting library.
/// </summary>
internal static class Chart
{
    private const int Width = 1100;
    private const int PanelHeight = 340;
    private const int Left = 90, Right = 230, Top = 40, Bottom = 55;

    /// <summary>
    /// A TrueType font file for the labels. Magick.NET's bundled fontconfig cannot read the system's configuration
    /// ("Cannot load default config file"), so on some machines it finds no default font and text fails with
    /// UnableToReadFont: name a file instead. HISTOSCALE_PLOT_FONT first (the CLI is a host), then common fonts.
    /// </summary>
    private static readonly Lazy<string?> FontFile = new(FindFont);

    private static string? FindFont()
    {
        var given = Environment.GetEnvironmentVariable("HISTOSCALE_PLOT_FONT");
        if (!string.IsNullOrEmpty(given))
        {
            return File.Exists(given) ? given : throw new FileNotFoundException($"HISTOSCALE_PLOT_FONT: {given} does not exist");
        }
        string[] preferred = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/Library/Fonts/Arial.ttf", @"C:\Windows\Fonts\arial.ttf"];
        var found = preferred.FirstOrDefault(File.Exists);
        if (found is not null)
        {
            return found;
        }
        foreach (var dir in new[] { "/usr/share/fonts", "/usr/local/share/fonts" }.Where(Directory.Exists))
        {
            found = Directory.EnumerateFiles(dir, "*.ttf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }
        return null; // Magick's own default, where it has one
    }

    private static IDrawables<byte> WithFont(Drawables d) => FontFile.Value is { } font ? d.Font(font) : d;

    public static void WritePng(string path, IReadOnlyList<Panel> panels)
    {
        using var image = new MagickImage(MagickColors.White, Width, (uint)(PanelHeight * panels.Count));
        if (FontFile.Value is { } font)
        {
            image.Settings.Font = font;
        }
        for (var i = 0; i < panels.Count; i++)
        {
            DrawPanel(image, panels[i], i * PanelHeight);
        }
        image.Write(path, MagickFormat.Png);
    }

    private static void DrawPanel(MagickImage image, Panel panel, int y0)
    {
        var plotW = Width - Left - Right;
        var plotH = PanelHeight - Top - Bottom;
        var points = panel.Series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Valid(p.First, panel.LogX) && Valid(p.Second, panel.LogY)).ToList();
        if (points.Count == 0)
        {
            return;
        }
        var (xMin, xMax) = Range(points.Select(p => p.First), panel.LogX);
        var (yMin, yMax) = Range(points.Select(p => p.Second), panel.LogY);
        double Px(double x) => Left + (T(x, panel.LogX) - xMin) / (xMax - xMin) * plotW;
        double Py(double y) => y0 + Top + plotH - (T(y, panel.LogY) - yMin) / (yMax - yMin) * plotH;

        var d = new Drawables().FontPointSize(12).StrokeColor(MagickColors.Black).StrokeWidth(1).FillColor(MagickColors.Transparent)
            .Rectangle(Left, y0 + Top, Left + plotW, y0 + Top + plotH);
        d.Draw(image);
        var text = WithFont(new Drawables()).FontPointSize(12).FillColor(MagickColors.Black).StrokeColor(MagickColors.Transparent);
        text.FontPointSize(15).Text(Left, y0 + 25, panel.Title).FontPointSize(12);
        text.Text(Left + plotW / 2.0 - 40, y0 + PanelHeight - 12, panel.XLabel);
        text.Text(8, y0 + Top - 8, panel.YLabel);
        var grid = new Drawables().StrokeColor(new MagickColor("#dddddd")).StrokeWidth(1);
        foreach (var (value, at) in Ticks(xMin, xMax, panel.LogX))
        {
            var px = Left + (at - xMin) / (xMax - xMin) * plotW;
            grid.Line(px, y0 + Top, px, y0 + Top + plotH);
            text.Text(px - 15, y0 + Top + plotH + 16, Format(value));
        }
        foreach (var (value, at) in Ticks(yMin, yMax, panel.LogY))
        {
            var py = y0 + Top + plotH - (at - yMin) / (yMax - yMin) * plotH;
            grid.Line(Left, py, Left + plotW, py);
            text.Text(8, py + 4, Format(value));
        }
        grid.Draw(image);
        var legendY = y0 + Top + 10;
        foreach (var s in panel.Series)
        {
            var color = new MagickColor(s.Color);
            var pts = s.X.Zip(s.Y).Where(p => Valid(p.First, panel.LogX) && Valid(p.Second, panel.LogY)).Select(p => new PointD(Px(p.First), Py(p.Second))).ToList();
            if (s.Line && pts.Count >= 2)
            {
                new Drawables().StrokeColor(color).StrokeWidth(1.5).FillColor(MagickColors.Transparent).Polyline(pts).Draw(image);
            }
            else
            {
                var marks = new Drawables().FillColor(color).StrokeColor(color);
                foreach (var p in pts)
                {
                    marks.Circle(p.X, p.Y, p.X + 4, p.Y);
                }
                if (pts.Count > 0)
                {
                    marks.Draw(image);
                }
                if (s.Labels is { } labels)
                {
                    var l = WithFont(new Drawables()).FontPointSize(9).FillColor(new MagickColor("#444444")).StrokeColor(MagickColors.Transparent);
                    var i = 0;
                    foreach (var (x, y) in s.X.Zip(s.Y))
                    {
                        if (Valid(x, panel.LogX) && Valid(y, panel.LogY))
                        {
                            l.Text(Px(x) + 6, Py(y) - 4, labels[i]);
                        }
                        i++;
                    }
                    l.Draw(image);
                }
            }
            new Drawables().FillColor(color).StrokeColor(color).Rectangle(Left + plotW + 15, legendY - 8, Left + plotW + 27, legendY + 2).Draw(image);
            text.Text(Left + plotW + 33, legendY + 2, s.Name);
            legendY += 18;
        }
        text.Draw(image);
    }

    private static bool Valid(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double T(double v, bool log) => log ? Math.Log10(v) : v;

    private static (double Min, double Max) Range(IEnumerable<double> values, bool log)
    {
        var t = values.Select(v => T(v, log)).ToList();
        double min = t.Min(), max = t.Max();
        if (log)
        {
            return (Math.Floor(min), Math.Max(Math.Ceiling(max), Math.Floor(min) + 1));
        }
        min = Math.Min(0, min);
        if (max <= min)
        {
            max = min + 1;
        }
        return (min, max + (max - min) * 0.05);
    }

    private static IEnumerable<(double Value, double At)> Ticks(double min, double max, bool log)
    {
        if (log)
        {
            for (var e = Math.Ceiling(min); e <= max + 1e-9; e++)
            {
                yield return (Math.Pow(10, e), e);
            }
            yield break;
        }
        var raw = (max - min) / 6;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        for (var v = Math.Ceiling(min / step) * step; v <= max + 1e-9; v += step)
        {
            yield return (v, v);
        }
    }

    private static string Format(double v) => Math.Abs(v) switch
    {
        >= 1e6 => (v / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (v / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        >= 1 or 0 => v.ToString("0.##", CultureInfo.InvariantCulture),
        _ => v.ToString("0.#####", CultureInfo.InvariantCulture),
    };
}
