using Histoscale.Pipeline.Checkpoints;
using Histoscale.Pipeline.Tests.Support;

namespace Histoscale.Pipeline.Tests.Checkpoints;

public class ResultsFileTests
{
    [Fact]
    public void ResumesAfterTheLastCompleteRecordAndDropsATornTail()
    {
        using var dir = new TempDir();
        var path = dir["r.bin"];
        using (var file = ResultsFile.OpenOrCreate(path, "plan-a", 2, 10))
        {
            file.Append([1, 2, 3, 4], 2);
            file.Append([5, 6], 1);
        }
        var complete = new FileInfo(path).Length;
        using (var stream = File.Open(path, FileMode.Append))
        {
            stream.Write([0x48, 0x52, 0x43, 0x31, 3, 0, 0, 0, 4]); // a record cut short by a crash
        }
        using (var file = ResultsFile.OpenOrCreate(path, "plan-a", 2, 10))
        {
            Assert.Equal(3, file.TilesDone);
            Assert.Equal(complete, new FileInfo(path).Length);
            file.Append([7, 8], 1);
        }
        var tiles = ResultsFile.ReadTiles(path, 2).Select(t => (t.Tile, t.Values.ToArray())).ToList();
        Assert.Equal([0, 1, 2, 3], tiles.Select(t => t.Tile));
        Assert.Equal([7f, 8f], tiles[3].Item2);
    }

    [Fact]
    public void AnotherPlanStartsOver()
    {
        using var dir = new TempDir();
        var path = dir["r.bin"];
        using (var file = ResultsFile.OpenOrCreate(path, "plan-a", 1, 10))
        {
            file.Append([1], 1);
        }
        using (var file = ResultsFile.OpenOrCreate(path, "plan-b", 1, 10))
        {
            Assert.Equal(0, file.TilesDone);
        }
    }

    [Fact]
    public void CorruptRecordEndsTheValidPrefix()
    {
        using var dir = new TempDir();
        var path = dir["r.bin"];
        using (var file = ResultsFile.OpenOrCreate(path, "p", 1, 10))
        {
            file.Append([1], 1);
            file.Append([2], 1);
        }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0xFF; // flip a value byte of the second record
        File.WriteAllBytes(path, bytes);
        using var reopened = ResultsFile.OpenOrCreate(path, "p", 1, 10);
        Assert.Equal(1, reopened.TilesDone);
    }
}
