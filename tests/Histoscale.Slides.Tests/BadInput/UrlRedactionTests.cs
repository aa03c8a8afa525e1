using Histoscale.Slides;

namespace Histoscale.Slides.Tests.BadInput;

public class UrlRedactionTests
{
    [Theory]
    [InlineData("https://bucket.s3.amazonaws.com/a.svs?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=FwoGZXIvYXdzSECRETTOKEN&X-Amz-SignedHeaders=host&X-Amz-Signature=5f2c0a9d2b3e4f5a6b7c8d9e0f1a2b3c",
        "AKIAEXAMPLE", "FwoGZXIvYXdzSECRETTOKEN", "5f2c0a9d2b3e4f5a6b7c8d9e0f1a2b3c")]
    [InlineData("https://acct.blob.core.windows.net/slides/a.svs?sv=2024-11-04&se=2026-12-03T00%3A00%3A00Z&sr=b&sp=r&sig=AbCdEf%2Bghij%3D", "AbCdEf%2Bghij%3D")]
    [InlineData("https://storage.googleapis.com/b/a.svs?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40proj.iam&X-Goog-Date=20261202T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=9a8b7c6d5e", "svc%40proj.iam", "9a8b7c6d5e")]
    [InlineData("http://host/a.svs?token=s3cr3t&page=2", "s3cr3t")]
    [InlineData("redis://user:hunter2@cache:6379/0", "hunter2")]
    public void SignaturesTokensAndPasswordsAreRemovedButTheObjectStaysNamed(string url, params string[] secrets)
    {
        var message = new SlideException(url, "HTTP 403 Forbidden", level: 1, tile: (2, 3)).Message;
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, message);
            Assert.DoesNotContain(secret, UrlRedaction.Redact($"failed: '{url}' (retry)"));
        }
        Assert.Contains(UrlRedaction.Marker, message);
        Assert.Contains("level 1 tile (2,3): HTTP 403 Forbidden", message);
        var host = new Uri(url).Host;
        Assert.Contains(host, message);
    }

    [Fact]
    public void TextWithoutCredentialsIsUnchanged()
    {
        const string text = "https://host/slides/a.svs?versionId=3&page=2: level 0 tile (1,1): truncated; x = 5";
        Assert.Equal(text, UrlRedaction.Redact(text));
        Assert.Equal("/data/a.svs: not a TIFF", UrlRedaction.Redact("/data/a.svs: not a TIFF"));
        Assert.Equal("s3://bucket/key%20with=sign.svs", UrlRedaction.Redact("s3://bucket/key%20with=sign.svs"));
    }
}
