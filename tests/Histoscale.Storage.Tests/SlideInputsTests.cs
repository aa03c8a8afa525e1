using Histoscale.Slides;
using Histoscale.Storage.Inputs;

namespace Histoscale.Storage.Tests;

/// <summary>Manifests, folders and single slides as input sets (prefixes are tested per store in StoreReadTests).</summary>
public class SlideInputsTests
{
    [Fact]
    public async Task A_manifest_lists_paths_and_uris_skipping_comments_with_relative_paths_resolved()
    {
        var dir = Directory.CreateTempSubdirectory("histoscale-inputs-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "list.txt"), "# slides for run 7\n\ns3://bucket/a.svs\n  b.svs  \n/abs/c.tif\r\n");
            var slides = await SlideInputs.ExpandAsync(Path.Combine(dir, "list.txt"), new ObjectStoreProvider(new StorageOptions()));
            Assert.Equal(["s3://bucket/a.svs", Path.Combine(dir, "b.svs"), "/abs/c.tif"], slides);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_folder_expands_to_its_slides_sorted_and_a_single_slide_to_itself()
    {
        var dir = Directory.CreateTempSubdirectory("histoscale-inputs-").FullName;
        try
        {
            foreach (var f in new[] { "b.svs", "a.tiff", "readme.md" })
            {
                File.WriteAllText(Path.Combine(dir, f), "");
            }
            Assert.Equal([Path.Combine(dir, "a.tiff"), Path.Combine(dir, "b.svs")], await SlideInputs.ExpandAsync(dir, new ObjectStoreProvider(new StorageOptions())));
            Assert.Equal(["gs://b/x.svs"], await SlideInputs.ExpandAsync("gs://b/x.svs", new ObjectStoreProvider(new StorageOptions())));
            await Assert.ThrowsAsync<SlideException>(() => SlideInputs.ExpandAsync(Path.Combine(dir, "missing.txt"), new ObjectStoreProvider(new StorageOptions())));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_folder_lists_only_the_extensions_a_reader_is_registered_for()
    {
        var dir = Directory.CreateTempSubdirectory("histoscale-inputs-").FullName;
        try
        {
            foreach (var f in new[] { "a.svs", "b.ndpi", "c.txt", "d.ome.tif", "e.scn", "f.bif", "g.mrxs", "h.vms", "i.dcm", "j.svslide" })
            {
                File.WriteAllText(Path.Combine(dir, f), "");
            }
            Assert.Equal([Path.Combine(dir, "a.svs"), Path.Combine(dir, "d.ome.tif")], await SlideInputs.ExpandAsync(dir, new ObjectStoreProvider(new StorageOptions())));
            Assert.False(SlideInputs.IsSlideName("/bucket/x.ndpi"));
            Assert.True(SlideInputs.IsSlideName("/bucket/x.SVS"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
