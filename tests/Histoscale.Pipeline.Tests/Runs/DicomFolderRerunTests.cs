using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tests.Support;
using Histoscale.Slides;
using Histoscale.Slides.Tests.Support;
using Histoscale.Synthesis.Models;

namespace Histoscale.Pipeline.Tests.Runs;

/// <summary>
/// A DICOM series given as its folder is known by all its instance files: a rerun skips it when none changed and
/// reruns it when any did (not only the first instance).
/// </summary>
public class DicomFolderRerunTests
{
    private static string Classifier => TestData.Model(DemoModels.TissueClassifier(tileSize: 64, name: "classifier64"));

    [Fact]
    public async Task AFinishedDicomFolderIsSkippedOnRerunAndRerunWhenAnInstanceChanges()
    {
        using var dir = new TempDir();
        var series = Directory.CreateDirectory(dir["series"]).FullName;
        using (var source = Slide.Open(TestData.Slide(seed: 31, width: 900, height: 700)))
        {
            DicomWsiWriter.WriteUncompressedSeries(source, series);
        }
        var options = PipelineHarness.Options(dir["out"], batch: 4);

        var first = await PipelineHarness.RunAsync(Classifier, [series], options);
        Assert.True(first.Slides[0].Status == SlideSummary.Completed, first.Slides[0].Error);

        var second = await PipelineHarness.RunAsync(Classifier, [series], options);
        Assert.Equal(SlideSummary.Skipped, second.Slides[0].Status);

        // Rewrite the last instance (not the one the series is opened through) with a later time: no longer the same.
        var last = Directory.EnumerateFiles(series).Order(StringComparer.Ordinal).Last();
        File.SetLastWriteTimeUtc(last, File.GetLastWriteTimeUtc(last).AddMinutes(5));
        var third = await PipelineHarness.RunAsync(Classifier, [series], options);
        Assert.True(third.Slides[0].Status == SlideSummary.Completed, third.Slides[0].Error);
        Assert.NotNull(third.Slides[0].RerunReason);
    }
}
