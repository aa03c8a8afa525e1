using System.Diagnostics;
using System.Net;
using Histoscale.Slides;
using Histoscale.Storage.Inputs;
using Histoscale.Storage.Tests.Support;

namespace Histoscale.Storage.Tests;

/// <summary>The same slide read from each store equals the local file; missing and forbidden objects fail clearly.</summary>
public class StoreReadTests
{
    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void Pixels_equal_the_local_file_with_the_default_strategy(string store)
    {
        Stores.Require(store);
        var provider = new ObjectStoreProvider(Stores.Options());
        using var slide = Slide.Open(provider.Open(Stores.Uri(store)), new SlideOptions { Cache = null });
        TestSlide.AssertSamePixels(slide);
        Assert.Equal(Stores.Uri(store), slide.Source);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void Pixels_equal_the_local_file_when_every_read_is_its_own_request(string store)
    {
        Stores.Require(store);
        var provider = new ObjectStoreProvider(Stores.Options() with { Strategy = StorageStrategy.Direct });
        using var slide = Slide.Open(provider.Open(Stores.Uri(store)), new SlideOptions { Cache = null });
        TestSlide.AssertSamePixels(slide);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void Providers_in_slide_options_open_store_uris_through_Slide_Open(string store)
    {
        Stores.Require(store);
        using var slide = Slide.Open(Stores.Uri(store), new SlideOptions { Sources = [new ObjectStoreProvider(Stores.Options())] });
        Assert.Equal("aperio", slide.Format);
        Assert.Equal(1500, slide.Width);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void A_missing_object_is_a_clear_error_naming_the_uri(string store)
    {
        Stores.Require(store);
        var uri = Stores.Uri(store, "slides/missing.svs");
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<SlideException>(() => new ObjectStoreProvider(Stores.Options()).Open(uri));
        Assert.Equal(uri, ex.File);
        Assert.Contains("not found", ex.Message, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), "404 must not be retried");
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public void A_forbidden_object_is_a_clear_error_naming_the_uri(string store)
    {
        Stores.Require(store);
        // The emulators accept any well-formed request, so a handler plays the store's 403 for every request.
        var options = Stores.Options() with { WrapHttpHandler = inner => new StatusHandler(inner, HttpStatusCode.Forbidden) };
        var ex = Assert.Throws<SlideException>(() => new ObjectStoreProvider(options).Open(Stores.Uri(store)));
        Assert.Equal(Stores.Uri(store), ex.File);
        Assert.Contains("access denied (HTTP 403)", ex.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task A_prefix_expands_to_its_slides_in_order(string store)
    {
        Stores.Require(store);
        var bytes = TestSlide.Bytes;
        Stores.Put(store, "set/b.svs", bytes);
        Stores.Put(store, "set/a.tiff", bytes);
        Stores.Put(store, "set/notes.json", [1, 2, 3]);
        Stores.Put(store, "set/deeper/c.svs", bytes);

        var slides = await SlideInputs.ExpandAsync($"{store}://{Stores.Bucket}/set/", new ObjectStoreProvider(Stores.Options()));
        Assert.Equal([$"{store}://{Stores.Bucket}/set/a.tiff", $"{store}://{Stores.Bucket}/set/b.svs", $"{store}://{Stores.Bucket}/set/deeper/c.svs"], slides);
    }

    [SkippableTheory]
    [MemberData(nameof(Stores.All), MemberType = typeof(Stores))]
    public async Task A_prefix_lists_only_the_extensions_a_reader_is_registered_for(string store)
    {
        Stores.Require(store);
        var prefix = $"formats-{Guid.NewGuid():N}/";
        foreach (var name in new[] { "a.svs", "b.ndpi", "c.mrxs", "d.ome.tiff", "e.scn", "f.txt" })
        {
            Stores.Put(store, prefix + name, [1, 2, 3]);
        }
        var slides = await SlideInputs.ExpandAsync(Stores.Uri(store, prefix), new ObjectStoreProvider(Stores.Options()));
        Assert.Equal([Stores.Uri(store, prefix + "a.svs"), Stores.Uri(store, prefix + "d.ome.tiff")], slides);
    }

    /// <summary>Answers every request with one status, as a store refusing the caller's credentials does.</summary>
    private sealed class StatusHandler(HttpMessageHandler inner, HttpStatusCode status) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { RequestMessage = request, Content = new StringContent("") });
    }
}
