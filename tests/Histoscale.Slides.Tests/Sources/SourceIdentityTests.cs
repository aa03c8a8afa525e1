using Histoscale.Slides.Formats;
using Histoscale.Slides.Sources;
using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Sources;

/// <summary>Sources report what their bytes are, and two identities differ exactly when the content may have changed.</summary>
public sealed class SourceIdentityTests
{
    [Fact]
    public void ALocalFileIsKnownBySizeTimeAndAHashOfItsEnds()
    {
        using var dir = new TempDir();
        var path = dir.File("a.svs");
        var bytes = new byte[(3 << 20) + 17];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);
        var before = ByteSources.Identify(path, []);
        Assert.NotNull(before);
        Assert.Equal(bytes.Length, before.Length);
        Assert.Equal(stamp, before.Modified!.Value.UtcDateTime);
        Assert.Null(SourceIdentity.Difference(before, ByteSources.Identify(path, [])));

        // One byte changed in the last MiB, size and time restored: the hash tells.
        bytes[^5] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, stamp);
        Assert.StartsWith("content changed: SHA-256 of the first and last MiB", SourceIdentity.Difference(before, ByteSources.Identify(path, [])));

        // Only the time changed: still reported, the time being part of a local file's identity.
        var untouched = ByteSources.Identify(path, []);
        File.SetLastWriteTimeUtc(path, stamp.AddSeconds(1));
        Assert.Equal("content changed: modified 2024-01-02T03:04:05.0000000Z → 2024-01-02T03:04:06.0000000Z", SourceIdentity.Difference(untouched, ByteSources.Identify(path, [])));
    }

    [Fact]
    public void AnHttpSlideIsKnownByItsETagOrElseItsLastModified()
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        using var server = new RangeServer(bytes) { ETag = "\"abc\"", LastModified = new DateTimeOffset(2024, 3, 4, 5, 6, 7, TimeSpan.Zero) };
        using var source = new HttpRangeSource(new Uri(server.Url));
        var first = source.Identity;
        Assert.Equal(new SourceIdentity { Length = bytes.Length, ETag = "abc", Modified = server.LastModified }, first);

        server.ETag = "\"def\"";
        using (var replaced = new HttpRangeSource(new Uri(server.Url)))
        {
            Assert.Equal("content changed: ETag \"abc\" → \"def\"", SourceIdentity.Difference(first, replaced.Identity));
        }
        // An ETag decides alone: a Last-Modified that moved with the same ETag is the same content.
        Assert.Null(SourceIdentity.Difference(first, first with { Modified = first.Modified!.Value.AddHours(1) }));

        server.ETag = null;
        using (var noEtag = new HttpRangeSource(new Uri(server.Url)))
        {
            Assert.Null(SourceIdentity.Difference(noEtag.Identity, noEtag.Identity));
            Assert.Contains("modified", SourceIdentity.Difference(noEtag.Identity, noEtag.Identity with { Modified = noEtag.Identity.Modified!.Value.AddSeconds(1) }));
        }
        server.LastModified = null;
        using var bare = new HttpRangeSource(new Uri(server.Url));
        Assert.Contains("cannot be told apart", SourceIdentity.Difference(bare.Identity, bare.Identity));
    }

    [Fact]
    public void NothingRecordedOrNothingReportedIsNeverTheSame()
    {
        var now = new SourceIdentity { Length = 10, ETag = "x" };
        Assert.Contains("no content identity was recorded", SourceIdentity.Difference(null, now));
        Assert.Contains("reports no content identity", SourceIdentity.Difference(now, null));
        Assert.Equal("content changed: size 10 → 11 bytes", SourceIdentity.Difference(now, now with { Length = 11 }));
        Assert.Equal("content changed: version \"1\" → \"2\"", SourceIdentity.Difference(now with { Version = "1" }, now with { Version = "2" }));
        Assert.Equal("abc", SourceIdentity.NormalizeETag("\"abc\""));
        Assert.Equal("W/abc", SourceIdentity.NormalizeETag("W/\"abc\""));
    }
}
