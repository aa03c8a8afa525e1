namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>bench storage</c>'s flags: an emulated storage class is for local files, and says so for a remote slide instead of being ignored.</summary>
public sealed class BenchStorageCommandTests
{
    [Theory]
    [InlineData("http://127.0.0.1:1/dicom-web/studies/1.2/series/3.4", "DICOMweb server")]
    [InlineData("s3://bucket/slide.svs", "read from its store")]
    public async Task EmulateIsRefusedForARemoteSlide(string slide, string says)
    {
        var (code, _, stderr) = await ReaderCommandsTests.Run("bench", "storage", slide, "--emulate", "all");
        Assert.Equal(2, code);
        Assert.Contains("--emulate all: storage classes are emulated in front of a local file", stderr, StringComparison.Ordinal);
        Assert.Contains(says, stderr, StringComparison.Ordinal);
    }
}
