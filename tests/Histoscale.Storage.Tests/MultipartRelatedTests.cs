using System.Text;
using Histoscale.Storage.DicomWeb;
using Histoscale.Storage.Remote;

namespace Histoscale.Storage.Tests;

/// <summary>The multipart/related parsing of WADO-RS frame answers, on bodies written by hand (every shape RFC 2046 allows, and broken ones).</summary>
public sealed class MultipartRelatedTests
{
    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    [Fact]
    public void PartsWithPreamblePaddingHeadersAndEpilogueAreSplitExactly()
    {
        var body = Bytes("preamble to ignore\r\n--b0\r\nContent-Type: image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50\r\nContent-Length: 6\r\n\r\n\xff\xd8--b\xff\r\n--b0  \t\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--b\r\n\r\n--b0--\r\nepilogue");
        var parts = MultipartRelated.Split(body, "b0");
        Assert.Equal(2, parts.Count);
        Assert.Equal(Bytes("\xff\xd8--b\xff"), body.AsSpan(parts[0].Offset, parts[0].Length).ToArray());
        Assert.Equal("image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50", parts[0].ContentType);
        // A body may itself hold line ends and "--b" that is not the whole boundary.
        Assert.Equal(Bytes("\r\n--b\r\n"), body.AsSpan(parts[1].Offset, parts[1].Length).ToArray());
    }

    [Fact]
    public void BareLineFeedsAndABoundaryAtTheVeryStartAreAccepted()
    {
        var body = Bytes("--xyz\nContent-Type: image/jpeg\n\nAB\n--xyz\n\nCD\n--xyz--");
        var parts = MultipartRelated.Split(body, "xyz");
        Assert.Equal(["AB", "CD"], parts.Select(p => Encoding.Latin1.GetString(body, p.Offset, p.Length)));
    }

    [Theory]
    [InlineData("--b\r\n\r\nAB\r\n--b", "truncated")]
    [InlineData("--b\r\n\r\nABCD", "truncated")]
    [InlineData("--b\r\nContent-Type: image/jpeg\r\n", "truncated in its headers")]
    [InlineData("nothing here", "no opening boundary")]
    [InlineData("--b\r\nContent-Length: 9\r\n\r\nAB\r\n--b--", "Content-Length 9")]
    [InlineData("--b\r\nno colon\r\n\r\nAB\r\n--b--", "malformed header")]
    public void BrokenBodiesSayWhatIsWrong(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => MultipartRelated.Split(Bytes(text), "b"));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void ParametersAreReadQuotedOrNot()
    {
        const string type = "multipart/related; type=\"image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50\"; boundary=abc-123";
        Assert.Equal("abc-123", MultipartRelated.Parameter(type, "boundary"));
        Assert.Equal("image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50", MultipartRelated.Parameter(type, "type"));
        Assert.Equal("1.2.840.10008.1.2.4.50", MultipartRelated.Parameter(MultipartRelated.Parameter(type, "type")!, "transfer-syntax"));
        Assert.Null(MultipartRelated.Parameter(type, "start"));
        Assert.Equal("multipart/related", MultipartRelated.MediaType(type));
    }

    [Fact]
    public void FramesTakeTheirSyntaxFromThePartOrTheMessageAndMustMatchTheCountAskedFor()
    {
        var body = Bytes("--q\r\n\r\nAA\r\n--q\r\nContent-Type: image/jp2; transfer-syntax=1.2.840.10008.1.2.4.91\r\n\r\nBB\r\n--q--");
        var frames = DicomWebSeriesClient.Frames("u", "multipart/related; type=\"image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50\"; boundary=q", body, 2);
        Assert.Equal("1.2.840.10008.1.2.4.50", frames[0].TransferSyntax);
        Assert.Equal("1.2.840.10008.1.2.4.91", frames[1].TransferSyntax);
        Assert.Equal("BB"u8.ToArray(), frames[1].Data);
        var ex = Assert.Throws<StorageRequestException>(() => DicomWebSeriesClient.Frames("u", "multipart/related; boundary=q", body, 3));
        Assert.Contains("2 part(s) for 3 frame(s)", ex.Message);
        ex = Assert.Throws<StorageRequestException>(() => DicomWebSeriesClient.Frames("u", "application/json", body, 2));
        Assert.Contains("expected a multipart/related answer", ex.Message);
        Assert.True(Assert.Throws<StorageRequestException>(() => DicomWebSeriesClient.Frames("u", "multipart/related; boundary=q", body[..^8], 2)).Transient);
    }

    [Theory]
    [InlineData(null, "type=\"application/octet-stream\"; transfer-syntax=*")]
    [InlineData("1.2.840.10008.1.2.4.50", "type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.50")]
    [InlineData("1.2.840.10008.1.2.4.90", "type=\"image/jp2\"; transfer-syntax=1.2.840.10008.1.2.4.90")]
    [InlineData("1.2.840.10008.1.2", "type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1")]
    public void FramesAreAskedForInTheirSyntaxMediaType(string? syntax, string expected) =>
        Assert.Equal("multipart/related; " + expected, DicomWebSeriesClient.Accept(syntax));
}
