using Histoscale.Storage;

namespace Histoscale.Cli.Tests;

/// <summary>The host is where the environment becomes options; the libraries never read it.</summary>
public sealed class HostContextTests
{
    [Fact]
    public void Environment_variables_become_storage_and_slide_options()
    {
        var env = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4569",
            ["AWS_REGION"] = "eu-west-1",
            ["AZURE_STORAGE_CONNECTION_STRING"] = "UseDevelopmentStorage=true",
            ["STORAGE_EMULATOR_HOST"] = "127.0.0.1:9023",
            ["HISTOSCALE_STORAGE_STRATEGY"] = "direct",
            ["HISTOSCALE_CACHE_MB"] = "64",
        };
        var host = HostContext.FromVariables(k => env.GetValueOrDefault(k));
        Assert.Equal("http://127.0.0.1:4569", host.Storage.S3ServiceUrl);
        Assert.Equal("eu-west-1", host.Storage.S3Region);
        Assert.Equal("UseDevelopmentStorage=true", host.Storage.AzureConnectionString);
        Assert.Equal("127.0.0.1:9023", host.Storage.GcsEmulatorHost);
        Assert.Equal(StorageStrategy.Direct.Name, host.Storage.Strategy.Name);
        Assert.Equal(64L << 20, host.Slides.Cache!.CapacityBytes);
        Assert.Contains(host.ObjectStores, host.Slides.Sources);
        // One remote path: plain http(s) URLs are the store provider's too, ahead of any other source.
        Assert.Same(host.ObjectStores, host.Slides.Sources[0]);
        Assert.True(host.ObjectStores.CanOpen(new Uri("https://example.org/slides/a.svs?X-Amz-Signature=abc")));

        env["AWS_ENDPOINT_URL_S3"] = "http://s3.local:9000";
        Assert.Equal("http://s3.local:9000", HostContext.FromVariables(k => env.GetValueOrDefault(k)).Storage.S3ServiceUrl);
    }

    [Fact]
    public void Bad_values_are_input_errors_naming_the_variable()
    {
        var ex = Assert.Throws<InputException>(() => HostContext.FromVariables(k => k == "HISTOSCALE_CACHE_MB" ? "lots" : null));
        Assert.Contains("HISTOSCALE_CACHE_MB", ex.Message);
        ex = Assert.Throws<InputException>(() => HostContext.FromVariables(k => k == "HISTOSCALE_STORAGE_STRATEGY" ? "warp9" : null));
        Assert.Contains("HISTOSCALE_STORAGE_STRATEGY", ex.Message);
    }
}
