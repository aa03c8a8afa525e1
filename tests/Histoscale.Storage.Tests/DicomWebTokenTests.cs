using System.Net;
using Histoscale.Storage.DicomWeb;

namespace Histoscale.Storage.Tests;

/// <summary>
/// The DICOMweb bearer token is a credential: it goes over https, or plain http to this machine, and never in clear to
/// another host (a queued job's slide URL may come from anyone who can submit).
/// </summary>
public sealed class DicomWebTokenTests
{
    private sealed class Recorder : HttpMessageHandler
    {
        public List<string?> Authorizations { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Authorizations)
            {
                Authorizations.Add(request.Headers.Authorization?.ToString());
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Unauthorized) { ReasonPhrase = "Unauthorized" });
        }
    }

    [Theory]
    [InlineData("https://pacs.example/dicomweb/studies/1.2/series/3.4", true)]
    [InlineData("http://pacs.example/dicomweb/studies/1.2/series/3.4", false)]
    [InlineData("http://10.0.0.7:8042/dicom-web/studies/1.2/series/3.4", false)]
    [InlineData("http://127.0.0.1:8042/dicom-web/studies/1.2/series/3.4", true)]
    [InlineData("http://localhost:8042/dicom-web/studies/1.2/series/3.4", true)]
    [InlineData("http://[::1]:8042/dicom-web/studies/1.2/series/3.4", true)]
    public async Task TheTokenGoesOnlyOverHttpsOrToThisMachine(string url, bool sent)
    {
        var recorder = new Recorder();
        using var http = new HttpClient(recorder);
        var client = new DicomWebSeriesClient(http, new Uri(url), url, new StorageOptions { DicomWebToken = "s3cret", Strategy = StorageStrategy.Default with { Retry = new RetryOptions { MaxAttempts = 1 } } });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => client.ReadMetadataAsync());
        Assert.Equal(sent, DicomWebSeriesClient.MaySendToken(new Uri(url)));
        Assert.All(recorder.Authorizations, a => Assert.Equal(sent ? "Bearer s3cret" : null, a));
        Assert.NotEmpty(recorder.Authorizations);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
        // Withheld, the 401 says why, so the user is not left guessing why the token did not work.
        Assert.Equal(!sent, error.Message.Contains("token was not sent", StringComparison.Ordinal));
    }
}
