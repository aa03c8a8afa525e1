using System.Globalization;
using System.Text.Json;
using Histoscale.Synthesis.Models;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Synthesis;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// The heatmap registers over the slide, checked through libvips reading the written TIFF (not our own reader)
/// against the tile table's footprints and scores, on slides whose sizes are not multiples of the tile: its extent
/// at every page is the slide's within one pixel, the registration record (ImageDescription, run.json) and the
/// resolution tags agree, each tile's colour sits at each tile's position both when the heatmap is scaled by its
/// record and when a viewer stretches it over the slide's bounds, and the DSA griddata puts each tile's value at it.
/// </summary>
public class HeatmapRegistrationTests
{
    private sealed record Case(int Width, int Height, SynthLayout Layout, double Mpp, bool Classifier, int TileSize, int Overlap);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // The issue's slide: level 1 (0.504 µm/px) within tolerance of 0.5; 31.25 × 23.2 tiles.
        ["issue-7000x5200-0.252um-224px"] = new(7000, 5200, SynthLayout.Tiff, 0.252, Classifier: false, 224, 0),
        // Level 0 as is, overlapping tiles (8-px map cells, one heatmap pixel each), probability-mix colours.
        ["svs-1500x1100-0.499um-64px-overlap8"] = new(1500, 1100, SynthLayout.Svs, 0.499, Classifier: true, 64, 8),
        // No level within tolerance: level 0 resampled by 1.515, so a heatmap pixel is a non-integer 16.16 level-0 px.
        ["tiff-2300x1700-0.33um-96px-resampled"] = new(2300, 1700, SynthLayout.Tiff, 0.33, Classifier: false, 96, 0),
        // SubIFD pyramid, level 1, a quarter of each tile shared with each neighbour.
        ["subifd-3000x2100-0.25um-128px-overlap32"] = new(3000, 2100, SynthLayout.SubIfd, 0.25, Classifier: false, 128, 32),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [SkippableTheory]
    [MemberData(nameof(CaseNames))]
    public async Task HeatmapRegistersOverTheSlide(string caseName)
    {
        Tools.RequireVips();
        var c = Cases[caseName];
        using var dir = new TempDir();
        var slidePath = TestData.Slide(width: c.Width, height: c.Height, layout: c.Layout, mpp: c.Layout == SynthLayout.Svs ? null : c.Mpp);
        var model = TestData.Model(c.Classifier
            ? DemoModels.TissueClassifier(tileSize: c.TileSize, name: $"classifier{c.TileSize}")
            : DemoModels.MeanIntensity(tileSize: c.TileSize, name: $"mean_intensity{c.TileSize}"));
        var summary = await PipelineHarness.RunAsync(model, [slidePath], PipelineHarness.Options(dir.Path) with { Overlap = c.Overlap, DetectTissue = false });
        var s = Assert.Single(summary.Slides);
        Assert.True(s.Status == "completed", s.Error);
        var prefix = Path.Combine(dir.Path, s.Name);
        var heatmap = prefix + ".heatmap.tif";

        // 1. Physical extent of every page, as a tool that reads only the resolution tags sees it.
        var slideMicronsX = c.Width * c.Mpp;
        var slideMicronsY = c.Height * c.Mpp;
        var pageCount = int.Parse(Header("n-pages", heatmap), CultureInfo.InvariantCulture);
        var pages = new List<(int Width, int Height, double MppX, double MppY)>();
        for (var n = 0; n < pageCount; n++)
        {
            var page = $"{heatmap}[page={n}]";
            var (w, h) = (int.Parse(Header("width", page), CultureInfo.InvariantCulture), int.Parse(Header("height", page), CultureInfo.InvariantCulture));
            // libvips gives pixels per millimetre.
            var mppX = 1000 / double.Parse(Header("xres", page), CultureInfo.InvariantCulture);
            var mppY = 1000 / double.Parse(Header("yres", page), CultureInfo.InvariantCulture);
            AssertCovers($"page {n} width", w, mppX, slideMicronsX);
            AssertCovers($"page {n} height", h, mppY, slideMicronsY);
            pages.Add((w, h, mppX, mppY));
        }

        // 2. The registration record, as libvips reads the ImageDescription, against the tags and the slide.
        var description = Header("image-description", heatmap);
        using var legendJson = JsonDocument.Parse(description);
        var legend = legendJson.RootElement;
        Assert.True(legend.TryGetProperty("registration", out var reg), $"no registration record in the ImageDescription: {description}");
        var (ox, oy) = (reg.GetProperty("origin")[0].GetDouble(), reg.GetProperty("origin")[1].GetDouble());
        var scale = reg.GetProperty("scale").GetDouble();
        Assert.Equal((0.0, 0.0), (ox, oy));
        Assert.Equal(c.Width, reg.GetProperty("slideWidth").GetInt64());
        Assert.Equal(c.Height, reg.GetProperty("slideHeight").GetInt64());
        Assert.Equal(pages[0].Width, reg.GetProperty("width").GetInt32());
        Assert.Equal(pages[0].Height, reg.GetProperty("height").GetInt32());
        // The slide's µm/px as its own resolution tags hold it (rationals: exact to about 1e-8).
        Assert.Equal(1.0, reg.GetProperty("mppX").GetDouble() / (c.Mpp * scale), 1e-6);
        Assert.Equal(1.0, reg.GetProperty("mppY").GetDouble() / (c.Mpp * scale), 1e-6);
        for (var n = 0; n < pages.Count; n++)
        {
            // The issue's rule, with the exact scale: width = ceil(slide width × slide mpp / heatmap mpp).
            var pageScale = scale * (1 << n);
            Assert.Equal((int)Math.Ceiling((c.Width / pageScale) - 1e-9), pages[n].Width);
            Assert.Equal((int)Math.Ceiling((c.Height / pageScale) - 1e-9), pages[n].Height);
            Assert.Equal(1.0, pages[n].MppX / (c.Mpp * pageScale), 1e-5);
            Assert.Equal(1.0, pages[n].MppY / (c.Mpp * pageScale), 1e-5);
        }

        // run.json carries the same record.
        using (var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "run.json"))))
        {
            var inRun = run.RootElement.GetProperty("slides")[0].GetProperty("heatmap");
            foreach (var key in new[] { "scale", "width", "height", "slideWidth", "slideHeight", "mppX", "mppY" })
            {
                Assert.Equal(reg.GetProperty(key).GetDouble(), inRun.GetProperty(key).GetDouble());
            }
            Assert.Equal(reg.GetProperty("origin").EnumerateArray().Select(v => v.GetDouble()), inRun.GetProperty("origin").EnumerateArray().Select(v => v.GetDouble()));
        }

        // 3. Pixels, decoded by libvips: every heatmap pixel overlaps the slide and a tile (no tissue detection), so
        // none is transparent; each tile's colour is where its footprint says, on every page coarse enough to hold it.
        var pixels = Enumerable.Range(0, pages.Count).Select(n => RawPixels(dir, heatmap, n, pages[n].Width, pages[n].Height)).ToList();
        for (var a = 3; a < pixels[0].Length; a += 4)
        {
            Assert.True(pixels[0][a] == 255, $"transparent heatmap pixel {(a / 4) % pages[0].Width},{(a / 4) / pages[0].Width}");
        }
        var lines = File.ReadAllLines(prefix + ".tiles.csv");
        var header = lines[0].Split(',');
        var tiles = lines.Skip(1).Select(Tile.Parse).ToList();
        Assert.True(tiles.Count >= 12);
        var columns = Exclusive(tiles.Select(t => (t.X, t.Width)));
        var rows = Exclusive(tiles.Select(t => (t.Y, t.Height)));
        var checkedCoarse = 0;
        foreach (var tile in tiles)
        {
            // The part of the tile no other tile overlaps, less a pixel for the table's rounding to whole pixels.
            var (x0, x1) = columns[tile.X];
            var (y0, y1) = rows[tile.Y];
            var (px, py) = ((x0 + x1) / 2, (y0 + y1) / 2);
            var expected = Colour(legend, tile.Values);
            for (var n = 0; n < pages.Count; n++)
            {
                var ps = scale * (1 << n);
                var (hx, hy) = ((int)Math.Floor((px - ox) / ps), (int)Math.Floor((py - oy) / ps));
                var inside = Within(ox + (hx * ps), ox + ((hx + 1) * ps), x0, x1) && Within(oy + (hy * ps), oy + ((hy + 1) * ps), y0, y1);
                if (n == 0)
                {
                    Assert.True(inside, $"test set-up: tile at {tile.X},{tile.Y} has no whole heatmap pixel to itself");
                }
                if (inside)
                {
                    AssertPixel(pixels[n], pages[n].Width, hx, hy, expected, $"page {n}, tile at {tile.X},{tile.Y} (level-0 {px:0.#},{py:0.#})");
                    checkedCoarse += n > 0 ? 1 : 0;
                }
            }

            // A viewer that stretches the heatmap over the slide's bounds (no transform) shows at (px, py) the
            // heatmap pixel floor(px · w / slide width): that pixel must hold this tile's colour too.
            var (sx, sy) = ((int)Math.Floor(px * pages[0].Width / c.Width), (int)Math.Floor(py * pages[0].Height / c.Height));
            Assert.True(Within(ox + (sx * scale), ox + ((sx + 1) * scale), x0, x1) && Within(oy + (sy * scale), oy + ((sy + 1) * scale), y0, y1),
                $"stretched over the slide, heatmap pixel {sx},{sy} lands on tile {tile.X},{tile.Y} (level-0 {px:0.#},{py:0.#}) but holds level-0 {sx * scale:0.#},{sy * scale:0.#} onwards");
            AssertPixel(pixels[0], pages[0].Width, sx, sy, expected, $"stretched, tile at {tile.X},{tile.Y}");
        }
        Assert.True(pages.Count == 1 || checkedCoarse > 0, "no tile was checked on a coarser page");

        // 4. DSA griddata: a value per map cell, at the cell's centre (HistomicsUI draws value i at origin + i·dx);
        // the cells start at the registration origin and cover the slide.
        using (var dsa = JsonDocument.Parse(File.ReadAllText(prefix + ".annotation.json")))
        {
            var grids = dsa.RootElement.GetProperty("elements").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "griddata").ToList();
            Assert.NotEmpty(grids);
            foreach (var grid in grids)
            {
                var channel = Array.IndexOf(header, grid.GetProperty("group").GetString()) - 5;
                Assert.True(channel >= 0);
                var origin = grid.GetProperty("origin");
                var (gx0, gy0) = (origin[0].GetDouble(), origin[1].GetDouble());
                var (dx, dy) = (grid.GetProperty("dx").GetDouble(), grid.GetProperty("dy").GetDouble());
                var gw = grid.GetProperty("gridWidth").GetInt32();
                var values = grid.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                var gh = values.Length / gw;
                foreach (var tile in tiles)
                {
                    var (px, py) = ((columns[tile.X].Lo + columns[tile.X].Hi) / 2, (rows[tile.Y].Lo + rows[tile.Y].Hi) / 2);
                    var (i, j) = ((int)Math.Round((px - gx0) / dx), (int)Math.Round((py - gy0) / dy));
                    var expected = tile.Values[channel];
                    Assert.True(i >= 0 && i < gw && j >= 0 && j < gh, $"griddata point {i},{j} nearest to tile {tile.X},{tile.Y} is off the {gw}×{gh} grid");
                    var actual = values[(j * gw) + i];
                    Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)),
                        $"griddata '{grid.GetProperty("group").GetString()}' point {i},{j} nearest to tile {tile.X},{tile.Y}: {actual}, the tile's value {expected}");
                }
                // Cells: a whole number of heatmap pixels, from the registration's origin, covering the slide.
                Assert.Equal(Math.Round(dx / scale), dx / scale, 1e-4);
                Assert.Equal(ox, gx0 - (dx / 2), 1e-3);
                Assert.Equal(oy, gy0 - (dy / 2), 1e-3);
                Assert.InRange(ox + (gw * dx), c.Width, c.Width + dx - 1e-6);
                Assert.InRange(oy + (gh * dy), c.Height, c.Height + dy - 1e-6);
            }
            // The annotation carries the heatmap's registration record too (element schemas are closed, attributes are not).
            var inDsa = dsa.RootElement.TryGetProperty("attributes", out var attributes) && attributes.TryGetProperty("heatmap", out var record) ? record : default;
            Assert.True(inDsa.ValueKind == JsonValueKind.Object, "no attributes.heatmap registration record in the DSA annotation");
            Assert.Equal(scale, inDsa.GetProperty("scale").GetDouble());
            Assert.Equal(pages[0].Width, inDsa.GetProperty("width").GetInt32());
        }

        // 5. GeoJSON stays in level-0 pixels, inside the slide (a class over the whole map reaches its far edges).
        using (var geo = JsonDocument.Parse(File.ReadAllText(prefix + ".geojson")))
        {
            var points = geo.RootElement.GetProperty("features").EnumerateArray()
                .SelectMany(f => f.GetProperty("geometry").GetProperty("coordinates").EnumerateArray().SelectMany(r => r.EnumerateArray()))
                .Select(p => (X: p[0].GetDouble(), Y: p[1].GetDouble())).ToList();
            Assert.NotEmpty(points);
            Assert.All(points, p => Assert.True(p.X >= 0 && p.X <= c.Width && p.Y >= 0 && p.Y <= c.Height, $"{p} outside the slide"));
            if (!c.Classifier)
            {
                Assert.Equal(c.Width, points.Max(p => p.X));
                Assert.Equal(c.Height, points.Max(p => p.Y));
            }
        }
    }

    private sealed record Tile(long X, long Y, long Width, long Height, double[] Values)
    {
        public static Tile Parse(string line)
        {
            var f = line.Split(',');
            Assert.Equal("ok", f[^1]);
            var n = f[..^1].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            return new Tile((long)n[0], (long)n[1], (long)n[2], (long)n[3], n[5..]);
        }
    }

    /// <summary>For each tile start along one axis: the span no neighbouring tile overlaps, one pixel in from each end.</summary>
    private static Dictionary<long, (double Lo, double Hi)> Exclusive(IEnumerable<(long Start, long Length)> spans)
    {
        var distinct = spans.Distinct().OrderBy(s => s.Start).ToList();
        Assert.Equal(distinct.Count, distinct.Select(s => s.Start).Distinct().Count());
        var result = new Dictionary<long, (double, double)>();
        for (var i = 0; i < distinct.Count; i++)
        {
            var lo = i > 0 ? Math.Max(distinct[i].Start, distinct[i - 1].Start + distinct[i - 1].Length) : distinct[i].Start;
            var hi = i < distinct.Count - 1 ? Math.Min(distinct[i].Start + distinct[i].Length, distinct[i + 1].Start) : distinct[i].Start + distinct[i].Length;
            result[distinct[i].Start] = (lo + 1, hi - 1);
        }
        return result;
    }

    private static bool Within(double a0, double a1, double b0, double b1) => a0 >= b0 && a1 <= b1;

    private static void AssertCovers(string what, int pixels, double micronsPerPixel, double slideMicrons)
    {
        // Rational resolution tags are exact to about 1e-7; the slack only absorbs that.
        var extent = pixels * micronsPerPixel;
        var slack = 1e-5 * slideMicrons;
        Assert.True(extent >= slideMicrons - slack && extent < slideMicrons + micronsPerPixel + slack,
            $"{what}: {pixels} px × {micronsPerPixel:0.#####} µm/px = {extent:0.###} µm for a slide {slideMicrons:0.###} µm across (must be within one heatmap pixel over)");
    }

    /// <summary>The colour the legend gives these values (the renderer's rules, redone in double).</summary>
    private static (int R, int G, int B) Colour(JsonElement legend, double[] values)
    {
        var colours = legend.GetProperty("colors").EnumerateArray().Select(h => h.GetString()!)
            .Select(h => (int.Parse(h.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(h.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(h.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToList();
        double r, g, b;
        switch (legend.GetProperty("mode").GetString())
        {
            case "probability-mix":
                (r, g, b) = (0, 0, 0);
                for (var k = 0; k < colours.Count; k++)
                {
                    r += values[k] * colours[k].Item1;
                    g += values[k] * colours[k].Item2;
                    b += values[k] * colours[k].Item3;
                }
                break;
            case "ramp":
                var (min, max) = (legend.GetProperty("min").GetDouble(), legend.GetProperty("max").GetDouble());
                var t = max > min ? (values[0] - min) / (max - min) : 1;
                (r, g, b) = (255 + (t * (colours[0].Item1 - 255)), 255 + (t * (colours[0].Item2 - 255)), 255 + (t * (colours[0].Item3 - 255)));
                break;
            default:
                throw new InvalidOperationException($"no expected colour for mode {legend.GetProperty("mode")}");
        }
        return ((int)Math.Round(r), (int)Math.Round(g), (int)Math.Round(b));
    }

    private static void AssertPixel(byte[] rgba, int width, int x, int y, (int R, int G, int B) expected, string where)
    {
        var p = ((y * width) + x) * 4;
        var actual = (R: (int)rgba[p], G: (int)rgba[p + 1], B: (int)rgba[p + 2]);
        // float rendering vs this double recomputation: at most a unit apart; a neighbouring tile is many more.
        Assert.True(rgba[p + 3] == 255 && Math.Abs(actual.R - expected.R) <= 2 && Math.Abs(actual.G - expected.G) <= 2 && Math.Abs(actual.B - expected.B) <= 2,
            $"{where}: heatmap pixel {x},{y} is {actual} (alpha {rgba[p + 3]}), the tile's colour is {expected}");
    }

    private static string Header(string field, string file)
    {
        var code = Tools.Run("vipsheader", ["-f", field, file], out var output);
        Assert.True(code == 0, $"vipsheader -f {field} {file} exited {code}: {output}");
        // Tools.Run appends stderr (libvips warnings) after stdout: the value is the first line.
        return output.Split('\n')[0].Trim();
    }

    /// <summary>One page as libvips decodes it, as 8-bit RGBA.</summary>
    private static byte[] RawPixels(TempDir dir, string heatmap, int page, int width, int height)
    {
        var raw = dir[$"page{page}.raw"];
        Assert.Equal("4", Header("bands", $"{heatmap}[page={page}]"));
        Tools.MustRun("vips", "rawsave", $"{heatmap}[page={page}]", raw);
        var bytes = File.ReadAllBytes(raw);
        Assert.Equal((long)width * height * 4, bytes.Length);
        return bytes;
    }
}
