using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary>
/// Writing side of <see cref="ObjectStoreProvider"/>, per store (s3rver, Azurite, the GCS stand-in): upload, list by
/// any key prefix, download to a file (never half-written under its name; false for a missing object), delete
/// (no error when missing). What workers keep at an object-store output (outputs, checkpoints) goes through these.
/// </summary>
public class ObjectWriteTests
{
    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task An_object_is_uploaded_listed_by_key_prefix_downloaded_and_deleted(string store)
    {
        Stores.Require(store);
        var provider = new ObjectStoreProvider(Stores.Options());
        var dir = Directory.CreateTempSubdirectory("histoscale-write-").FullName;
        try
        {
            var run = $"writes/{Guid.NewGuid():N}/";
            var bytes = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
            var local = Path.Combine(dir, "case-7.results.bin");
            await File.WriteAllBytesAsync(local, bytes);
            await provider.UploadFileAsync(Stores.Uri(store, run + ".histoscale/case-7.results.bin"), local);
            await provider.UploadFileAsync(Stores.Uri(store, run + ".histoscale/case-70.results.bin"), local);

            var listed = await provider.ListAsync(Stores.Uri(store, run + ".histoscale/case-7."));
            var only = Assert.Single(listed);
            Assert.Equal(run + ".histoscale/case-7.results.bin", only.Key);
            Assert.Equal(bytes.Length, only.Length);

            var copy = Path.Combine(dir, "copy.bin");
            Assert.True(await provider.DownloadFileAsync(only.Uri, copy));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(copy));
            Assert.False(await provider.DownloadFileAsync(Stores.Uri(store, run + "missing.bin"), Path.Combine(dir, "missing.bin")));
            Assert.Equal(["case-7.results.bin", "copy.bin"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));

            await provider.DeleteObjectAsync(Stores.Uri(store, run + ".histoscale/case-7.results.bin"));
            await provider.DeleteObjectAsync(Stores.Uri(store, run + ".histoscale/case-7.results.bin")); // already gone
            Assert.Equal([run + ".histoscale/case-70.results.bin"], (await provider.ListAsync(Stores.Uri(store, run))).Select(o => o.Key));
            await Assert.ThrowsAsync<ArgumentException>(() => provider.DeleteObjectAsync(Stores.Uri(store, run)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
