using Histoscale.Pipeline.Stitching;

namespace Histoscale.Pipeline.Tests.Stitching;

public class ContourTracerTests
{
    private static byte[] Mask(params string[] rows) =>
        [.. rows.SelectMany(r => r.Select(c => c == '#' ? (byte)1 : (byte)0))];

    [Fact]
    public void TracesASquareWithAHole()
    {
        var mask = Mask(
            "#####",
            "#...#",
            "#...#",
            "#####");
        var polygons = ContourTracer.Trace(mask, 5, 4);
        var p = Assert.Single(polygons);
        Assert.Equal(4, p.Outer.Count); // collinear corners dropped
        Assert.Equal(20, ContourTracer.SignedArea(p.Outer));
        var hole = Assert.Single(p.Holes);
        Assert.Equal(-6, ContourTracer.SignedArea(hole));
    }

    [Fact]
    public void DiagonalNeighboursAreSeparatePolygons()
    {
        var mask = Mask(
            "#.",
            ".#");
        var polygons = ContourTracer.Trace(mask, 2, 2);
        Assert.Equal(2, polygons.Count);
        Assert.All(polygons, p => Assert.Equal(1, ContourTracer.SignedArea(p.Outer)));
    }

    [Fact]
    public void IslandInsideAHoleIsItsOwnPolygon()
    {
        var mask = Mask(
            "#######",
            "#.....#",
            "#..#..#",
            "#.....#",
            "#######");
        var polygons = ContourTracer.Trace(mask, 7, 5);
        Assert.Equal(2, polygons.Count);
        var outer = polygons.Single(p => ContourTracer.SignedArea(p.Outer) == 35);
        Assert.Single(outer.Holes);
        Assert.Contains(polygons, p => ContourTracer.SignedArea(p.Outer) == 1 && p.Holes.Count == 0);
    }

    [Fact]
    public void EmptyMaskHasNoPolygons() => Assert.Empty(ContourTracer.Trace(new byte[12], 4, 3));
}
