using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Sources;

/// <summary>
/// The minimal http source of Histoscale.Slides: same pixels as the local file, clear errors from misbehaving servers,
/// no retries (those, with the strategies, are Histoscale.Storage's; its HttpSlideTests cover them).
/// </summary>
public sealed class HttpRangeSourceTests
{
    [Fact]
    public void HttpSlideMatchesLocalFile()
    {
        using var server = new RangeServer(File.ReadAllBytes(TestSlides.Svs));
        using var local = Slide.Open(TestSlides.Svs, new SlideOptions { Cache = null });
        using var remote = Slide.Open(server.Url, new SlideOptions { Cache = null });
        Assert.Equal(local.Levels, remote.Levels);
        Assert.Equal(local.Properties.OrderBy(p => p.Key), remote.Properties.OrderBy(p => p.Key));
        Assert.Equal(local.ReadRegion(0, 100, 100, 700, 500).Pixels, remote.ReadRegion(0, 100, 100, 700, 500).Pixels);
        Assert.Equal(local.ReadAssociatedImage("label").Pixels, remote.ReadAssociatedImage("label").Pixels);
        // The speculative head read covers the directories: opening costs only a few requests.
        Assert.True(server.Requests < 60, $"{server.Requests} requests");
    }

    [Fact]
    public async Task AsyncReadsMatch()
    {
        var bytes = File.ReadAllBytes(TestSlides.Svs);
        using var server = new RangeServer(bytes);
        using var source = new Histoscale.Slides.Sources.HttpRangeSource(new Uri(server.Url));
        var buffer = new byte[5000];
        Assert.Equal(5000, await source.ReadAsync(1234, buffer));
        Assert.Equal(bytes.AsSpan(1234, 5000).ToArray(), buffer);
        Assert.Equal(bytes.Length, source.Length);
    }

    [Fact]
    public void TruncatedBodyIsAnErrorNotAShortTile()
    {
        using var server = new RangeServer(File.ReadAllBytes(TestSlides.Svs));
        using var slide = Slide.Open(server.Url, new SlideOptions { Cache = null });
        server.TruncateEvery = 1;
        var ex = Assert.Throws<SlideException>(() => slide.ReadRegion(0, 0, 0, 240, 240));
        Assert.Contains(server.Url, ex.Message);
    }

    [Fact]
    public void ServerIgnoringRangesIsRejected()
    {
        using var server = new RangeServer(File.ReadAllBytes(TestSlides.Svs)) { IgnoreRanges = true };
        var ex = Assert.Throws<SlideException>(() => Slide.Open(server.Url));
        Assert.Contains("range", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    public void HttpErrorsNameTheUri(int status)
    {
        using var server = new RangeServer([1, 2, 3]) { FailWithStatus = status };
        var ex = Assert.Throws<SlideException>(() => Slide.Open(server.Url));
        Assert.Contains(server.Url, ex.Message);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Fact]
    public void TheThinSourceDoesNotRetry()
    {
        // Retries belong to Histoscale.Storage's path (Polly); this source answers every failure at once.
        using var server = new RangeServer(File.ReadAllBytes(TestSlides.Svs));
        using var source = new Histoscale.Slides.Sources.HttpRangeSource(new Uri(server.Url));
        var buffer = new byte[100];
        server.FailNext = 1;
        var before = server.Requests;
        var ex = Assert.Throws<SlideException>(() => source.Read(0, buffer));
        Assert.Equal(before + 1, server.Requests);
        Assert.Contains("503", ex.Message);
        Assert.Contains(server.Url, ex.Message);
        Assert.Equal(100, source.Read(0, buffer)); // the server is fine again: so is the source
    }
}
