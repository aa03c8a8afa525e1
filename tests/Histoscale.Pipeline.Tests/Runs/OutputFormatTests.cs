using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Histoscale.Synthesis.Models;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Tests.Runs;

public class OutputFormatTests
{
    [Fact]
    public async Task ClassifierOutputsAreWellFormed()
    {
        using var dir = new TempDir();
        var slidePath = TestData.Slide();
        var model = TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));
        var summary = await PipelineHarness.RunAsync(model, [slidePath], PipelineHarness.Options(dir.Path) with { Overlap = 16 });
        var s = Assert.Single(summary.Slides);
        Assert.Equal("completed", s.Status);
        var name = Path.Combine(dir.Path, "slide-1-1500x1100-Svs");

        Assert.Equal("x,y,width,height,tissue,background,stroma,nuclei_rich,status", File.ReadLines(name + ".tiles.csv").First());

        using (var geo = JsonDocument.Parse(File.ReadAllText(name + ".geojson")))
        {
            Assert.Equal("FeatureCollection", geo.RootElement.GetProperty("type").GetString());
            var features = geo.RootElement.GetProperty("features").EnumerateArray().ToList();
            Assert.NotEmpty(features);
            foreach (var f in features)
            {
                Assert.Equal("Polygon", f.GetProperty("geometry").GetProperty("type").GetString());
                var ring = f.GetProperty("geometry").GetProperty("coordinates")[0];
                Assert.True(ring.GetArrayLength() >= 4);
                Assert.Equal(ring[0].ToString(), ring[ring.GetArrayLength() - 1].ToString());
                var cls = f.GetProperty("properties").GetProperty("classification");
                Assert.Contains(cls.GetProperty("name").GetString(), new[] { "stroma", "nuclei_rich" });
                Assert.Equal(3, cls.GetProperty("color").GetArrayLength());
                foreach (var point in ring.EnumerateArray())
                {
                    Assert.InRange(point[0].GetDouble(), 0, 1500);
                    Assert.InRange(point[1].GetDouble(), 0, 1100);
                }
            }
        }

        using (var dsa = JsonDocument.Parse(File.ReadAllText(name + ".annotation.json")))
        {
            Assert.False(string.IsNullOrEmpty(dsa.RootElement.GetProperty("name").GetString()));
            var elements = dsa.RootElement.GetProperty("elements").EnumerateArray().ToList();
            var polyline = elements.First(e => e.GetProperty("type").GetString() == "polyline");
            Assert.True(polyline.GetProperty("closed").GetBoolean());
            Assert.Equal(3, polyline.GetProperty("points")[0].GetArrayLength());
            var grid = elements.First(e => e.GetProperty("type").GetString() == "griddata");
            Assert.Equal("heatmap", grid.GetProperty("interpretation").GetString());
            Assert.Equal(0, grid.GetProperty("values").GetArrayLength() % grid.GetProperty("gridWidth").GetInt32());
        }

        using (var heatmap = Slide.Open(name + ".heatmap.tif"))
        {
            // A pyramid: each further page halves the previous until one fits a 256-px tile.
            var expectedLevels = 1;
            for (var side = Math.Max(heatmap.Width, heatmap.Height); side > 256; side = (side + 1) / 2)
            {
                expectedLevels++;
            }
            Assert.Equal(expectedLevels, heatmap.Levels.Count);
            // Heatmap pixels × their µm/px cover the slide's extent.
            Assert.NotNull(heatmap.MppX);
            Assert.Equal(1500 * 0.499, heatmap.Width * heatmap.MppX!.Value, 0.05 * 1500 * 0.499);
            Assert.Contains("probability-mix", heatmap.Properties["tiff.ImageDescription"]);
        }

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "run.json")));
        Assert.Equal("classifier64", run.RootElement.GetProperty("model").GetProperty("name").GetString());
        var slide = run.RootElement.GetProperty("slides")[0];
        Assert.True(slide.GetProperty("tilesPerSecond").GetDouble() > 0);
        Assert.True(slide.GetProperty("stages").GetProperty("infer").GetDouble() > 0);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EmbeddingsGoToANpyTableAlignedWithTheCsv()
    {
        using var dir = new TempDir();
        var model = TestData.Model(DemoModels.Embedding(dimensions: 8, tileSize: 64));
        var summary = await PipelineHarness.RunAsync(model, [TestData.Slide()], PipelineHarness.Options(dir.Path));
        Assert.Equal("completed", summary.Slides[0].Status);
        var name = Path.Combine(dir.Path, "slide-1-1500x1100-Svs");
        var rows = File.ReadAllLines(name + ".tiles.csv");
        Assert.Equal("x,y,width,height,tissue," + string.Join(',', Enumerable.Range(0, 8).Select(k => $"embedding_{k}")) + ",status", rows[0]);

        var bytes = File.ReadAllBytes(name + ".embeddings.npy");
        Assert.Equal("\u0093NUMPY", Encoding.Latin1.GetString(bytes, 0, 6));
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains($"'shape': ({rows.Length - 1}, 8)", header);
        Assert.Contains("'<f4'", header);
        var data = bytes.AsSpan(10 + headerLength);
        Assert.Equal((rows.Length - 1) * 8 * 4, data.Length);
        for (var r = 1; r < rows.Length; r += 7)
        {
            var csv = rows[r].Split(',')[5..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            for (var k = 0; k < 8; k++)
            {
                Assert.Equal(csv[k], BinaryPrimitives.ReadSingleLittleEndian(data[((((r - 1) * 8) + k) * 4)..]));
            }
        }
        Assert.False(File.Exists(name + ".heatmap.tif")); // embeddings have no map
    }

    [Fact]
    public async Task DenseMapsAreStitchedAndSummarisedPerTile()
    {
        using var dir = new TempDir();
        var model = TestData.Model(DemoModels.DenseStainMap(stride: 16, tileSize: 64));
        var summary = await PipelineHarness.RunAsync(model, [TestData.Slide()], PipelineHarness.Options(dir.Path));
        Assert.Equal("completed", summary.Slides[0].Status);
        var name = Path.Combine(dir.Path, "slide-1-1500x1100-Svs");
        Assert.Equal("x,y,width,height,tissue,hematoxylin,eosin,status", File.ReadLines(name + ".tiles.csv").First());
        using var heatmap = Slide.Open(name + ".heatmap.tif");
        // One map cell per dense output pixel (16 level-0 px), enlarged 1× (cells are 16 px already).
        Assert.Equal(Math.Ceiling(1500 / (16 * 0.998)), heatmap.Width, 1.0);
    }
}
