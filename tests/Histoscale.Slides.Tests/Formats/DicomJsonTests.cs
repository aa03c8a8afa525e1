using System.Text;
using Histoscale.Slides.Formats.Dicom;

namespace Histoscale.Slides.Tests.Formats;

/// <summary>The DICOM JSON model (WADO-RS metadata) read into the data sets the DICOM reader uses.</summary>
public sealed class DicomJsonTests
{
    private static IReadOnlyList<DicomDataset> Parse(string json) => DicomJson.ParseInstances("u", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void ValuesOfEveryKindReadLikeAPart10File()
    {
        var ds = Parse("""
            [{ "00080008": {"vr":"CS","Value":["DERIVED","PRIMARY","VOLUME","NONE"]},
               "00280010": {"vr":"US","Value":[256]},
               "00480006": {"vr":"UL","Value":[40000]},
               "00280008": {"vr":"IS","Value":[12]},
               "00100010": {"vr":"PN","Value":[{"Alphabetic":"Doe^Jane"}]},
               "00480001": {"vr":"FL","Value":[12.5]},
               "7FE00001": {"vr":"OV","InlineBinary":"AQIDBA=="},
               "7FE00010": {"vr":"OB","BulkDataURI":"http://x/bulk"},
               "52009229": {"vr":"SQ","Value":[{"00289110":{"vr":"SQ","Value":[{"00280030":{"vr":"DS","Value":[0.0005,0.00025]}}]}}]},
               "00081115": {"vr":"SQ"} }]
            """)[0];
        Assert.Equal("VOLUME", ds.GetString(DicomTags.ImageType, 2));
        Assert.Equal(256, ds.GetInteger(DicomTags.Rows));
        Assert.Equal(40000, ds.GetInteger(DicomTags.TotalPixelMatrixColumns));
        Assert.Equal(12, ds.GetInteger(DicomTags.NumberOfFrames));
        Assert.Equal("Doe^Jane", ds.GetString(0x0010_0010));
        Assert.Equal(12.5, ds.GetDouble(DicomTags.ImagedVolumeWidth));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, ds.Get(DicomTags.ExtendedOffsetTable)!.Value);
        Assert.Null(ds.Get(DicomTags.PixelData));
        var measures = ds.FirstItem(DicomTags.SharedFunctionalGroupsSequence)!.FirstItem(DicomTags.PixelMeasuresSequence)!;
        Assert.Equal(0.00025, measures.GetDouble(DicomTags.PixelSpacing, 1));
        Assert.Empty(ds.Get(0x0008_1115)!.Items!);
    }

    [Theory]
    [InlineData("{}", "not a JSON array")]
    [InlineData("[{\"0028001\":{\"vr\":\"US\",\"Value\":[1]}}]", "not a tag of eight hex digits")]
    [InlineData("[{\"00280010\":{\"vr\":\"US\",\"Value\":[70000]}}]", "does not fit US")]
    [InlineData("[{\"00280010\":{\"vr\":\"US\",\"Value\":[\"x\"]}}]", "not a number")]
    [InlineData("[{\"7FE00001\":{\"vr\":\"OV\",\"InlineBinary\":\"@@\"}}]", "not base64")]
    [InlineData("[{\"00280010\":", "not valid JSON")]
    [InlineData("[3]", "instance 0 is not a JSON object")]
    public void MalformedMetadataIsASlideExceptionSayingWhat(string json, string expected)
    {
        var ex = Assert.Throws<SlideException>(() => Parse(json));
        Assert.Equal("u", ex.File);
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("https://h/dicom-web/studies/1.2/series/3.4", true)]
    [InlineData("http://h:8042/a/b/studies/1.2/series/3.4/", true)]
    [InlineData("https://h/dicom-web/studies/1.2", false)]
    [InlineData("https://h/dicom-web/studies/1.2/series/3.4/instances/5", false)]
    [InlineData("s3://b/studies/1.2/series/3.4", false)]
    [InlineData("/data/studies/1.2/series/3.4", false)]
    public void DicomWebSeriesUrlsAreKnownByTheirPath(string url, bool expected) =>
        Assert.Equal(expected, DicomFormat.IsDicomWebSeriesUrl(url, out _));
}
