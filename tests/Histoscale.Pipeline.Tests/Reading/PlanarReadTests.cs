using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Reading;
using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Pipeline.Tests.Reading;

/// <summary>
/// Plan tiles read as planes equal the RGBA read's channels: aligned tiles, and unaligned ones assembled from the
/// pieces of the slide tiles they overlap; tiles over the level's edge decline (they hold transparent pixels).
/// </summary>
public sealed class PlanarReadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-planar-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(240, 0.499)] // aligned with the 240-px slide tiles
    [InlineData(224, 0.5)] // 224 px on 240-px tiles: up to four pieces each
    [InlineData(100, 0.5)] // smaller than a slide tile
    public void PlanarTilesAreTheChannelsOfTheRgbaTiles(int tileSize, double mpp)
    {
        var path = Path.Combine(_dir, $"s{tileSize}.svs");
        SlideSynthesizer.Write(path, new SynthOptions { Width = 2050, Height = 1530, TileSize = 240, Seed = 6 });
        using var slide = Slide.Open(path, new SlideOptions { Cache = null });
        var plan = TilePlanner.Create(slide, new TilePlanOptions { TileSize = tileSize, TargetMpp = mpp, MinTissue = 0 }, null);
        Assert.False(plan.Resampled);
        var reader = new PlanTileReader(slide, plan);
        Assert.True(reader.CanReadPlanar);
        var plane = tileSize * tileSize;
        var planes = new byte[3 * plane];
        var rgba = new byte[reader.TileBytes];
        using var scratch = new PlanTileReader.Scratch();
        int read = 0, declined = 0;
        // Twice over, in two orders, so both fresh decodes and cached pieces are checked.
        foreach (var tile in plan.Tiles.Concat(plan.Tiles.Reverse()))
        {
            var footprint = reader.SourceRect(tile);
            var inside = footprint.X + footprint.Width <= slide.Levels[0].Width && footprint.Y + footprint.Height <= slide.Levels[0].Height;
            var ok = reader.TryReadPlanar(tile, planes.AsSpan(0, plane), planes.AsSpan(plane, plane), planes.AsSpan(2 * plane));
            Assert.Equal(inside, ok);
            if (!ok)
            {
                declined++;
                continue;
            }
            read++;
            reader.Read(tile, rgba, scratch);
            for (var p = 0; p < plane; p++)
            {
                for (var c = 0; c < 3; c++)
                {
                    if (planes[(c * plane) + p] != rgba[(p * 4) + c])
                    {
                        Assert.Fail($"{tileSize}-px tile ({tile.Column},{tile.Row}) pixel ({p % tileSize},{p / tileSize}) channel {c}: planar {planes[(c * plane) + p]}, RGBA {rgba[(p * 4) + c]}");
                    }
                }
            }
        }
        Assert.True(read > 20 && declined > 0, $"{read} read, {declined} declined");
    }
}
