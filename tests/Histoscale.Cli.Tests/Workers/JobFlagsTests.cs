using System.Text.Json;
using Histoscale.Cli.Tests.Commands;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;
using Histoscale.Synthesis.Models;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Jobs;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// The infer flags that decide a slide's results travel with a submitted job: <c>--qc</c> with its thresholds, the
/// stain normalisation and <c>--max-bad-tiles</c> are in the message a worker takes (job version 2 with QC or stain,
/// so a worker that would ignore them refuses the job), and the worker runs the slide with them, as <c>infer</c> would.
/// </summary>
public sealed class JobFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-jobflags-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task ASubmittedJobCarriesQcStainAndTheBadTileLimitAndTheWorkerRunsWithThem()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "jobflags");
        var slide = Path.Combine(_dir, "s.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 1200, Height = 900, Seed = 21, MaxDegreeOfParallelism = 2 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));
        var output = Path.Combine(_dir, "out");

        var (code, _, stderr) = await ReaderCommandsTests.Run("submit", slide, "--queue", url, "--model", model, "--out", output, "--batch", "16", "--no-tissue",
            "--max-bad-tiles", "3", "--qc", "--qc-max-blur", "0.2", "--mask-mpp", "4", "--qc-focus-samples", "50", "--stain-normalize", "macenko", "--stain-target", slide);
        Assert.True(code == 0, stderr);

        await using (var queue = await JobQueues.OpenAsync(url, Brokers.Options(Brokers.Redis)))
        {
            var delivery = await queue.TakeAsync();
            Assert.NotNull(delivery);
            var job = SlideJob.Parse(delivery.Body.Span);
            Assert.Equal(2, job.Version);
            Assert.Equal(3, job.Parameters.MaxBadTiles);
            var qc = job.Parameters.Qc;
            Assert.NotNull(qc);
            Assert.Equal(0.2, qc.MaxBlurFraction);
            Assert.Equal(4, qc.MaskMpp);
            Assert.Equal(50, qc.MaxFocusSamples);
            Assert.Equal(new Histoscale.Pipeline.Quality.QualityOptions().MaxPenFraction, qc.MaxPenFraction);
            // The stain target was fitted at submission and travels as numbers.
            Assert.Equal("macenko", job.Parameters.StainTarget!.Value.GetProperty("method").GetString());
            Assert.Equal(Path.GetFullPath(slide), job.Parameters.StainTargetSource);
            // Back for the worker below, this attempt not counted.
            await delivery.ReturnAsync();
        }

        (code, _, stderr) = await ReaderCommandsTests.Run("worker", "--queue", url, "--idle-exit", "1", "--workers", "1", "--instances", "1", "--threads", "1");
        Assert.True(code == 0, stderr);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ".histoscale", "s.run.json")));
        var reported = run.RootElement.GetProperty("slides")[0];
        Assert.Equal("completed", reported.GetProperty("status").GetString());
        Assert.True(reported.TryGetProperty("qc", out var qcReport), reported.ToString());
        Assert.True(qcReport.TryGetProperty("usable", out _));
        Assert.True(reported.TryGetProperty("stain", out _), reported.ToString());
        Assert.Contains(",status", File.ReadLines(Path.Combine(output, "s.tiles.csv")).First());
    }

    [SkippableFact]
    public async Task SubmitRefusesTwoInputsThatWouldWriteTheSameOutputNamesNamingBoth()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "jobflags-clash");
        var a = Path.Combine(_dir, "a", "s.svs");
        var b = Path.Combine(_dir, "b", "S.svs");
        Directory.CreateDirectory(Path.GetDirectoryName(a)!);
        Directory.CreateDirectory(Path.GetDirectoryName(b)!);
        SlideSynthesizer.Write(a, new SynthOptions { Width = 300, Height = 200, Seed = 23, MaxDegreeOfParallelism = 2 });
        SlideSynthesizer.Write(b, new SynthOptions { Width = 300, Height = 200, Seed = 24, MaxDegreeOfParallelism = 2 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));

        var (code, _, stderr) = await ReaderCommandsTests.Run("submit", a, b, "--queue", url, "--model", model, "--out", Path.Combine(_dir, "o"));

        Assert.True(code == 2, stderr);
        Assert.Contains("would write outputs named", stderr);
        Assert.Contains(a, stderr);
        Assert.Contains(b, stderr);
    }

    [SkippableFact]
    public async Task AJobWithoutQcStaysVersionOneAndQcThresholdsNeedQc()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "jobflags-plain");
        var slide = Path.Combine(_dir, "p.svs");
        SlideSynthesizer.Write(slide, new SynthOptions { Width = 600, Height = 500, Seed = 22, MaxDegreeOfParallelism = 2 });
        var model = ModelRepositoryWriter.Write(Path.Combine(_dir, "models"), DemoModels.TissueClassifier(tileSize: 32, name: "classifier32"));

        var (code, _, stderr) = await ReaderCommandsTests.Run("submit", slide, "--queue", url, "--model", model, "--out", Path.Combine(_dir, "o"), "--max-bad-tiles", "2%");
        Assert.True(code == 0, stderr);
        await using (var queue = await JobQueues.OpenAsync(url, Brokers.Options(Brokers.Redis)))
        {
            var delivery = await queue.TakeAsync();
            Assert.NotNull(delivery);
            var job = SlideJob.Parse(delivery.Body.Span);
            Assert.Equal(1, job.Version);
            Assert.Null(job.Parameters.Qc);
            Assert.Null(job.Parameters.MaxBadTiles);
            Assert.Equal(0.02, job.Parameters.MaxBadTileFraction);
            Assert.DoesNotContain("\"qc\"", System.Text.Encoding.UTF8.GetString(delivery.Body.Span));
            await delivery.CompleteAsync();
        }

        (code, _, stderr) = await ReaderCommandsTests.Run("submit", slide, "--queue", url, "--model", model, "--out", Path.Combine(_dir, "o"), "--qc-max-blur", "0.2");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--qc-max-blur needs --qc", stderr);
        (code, _, stderr) = await ReaderCommandsTests.Run("submit", slide, "--queue", url, "--model", model, "--out", Path.Combine(_dir, "o"), "--qc", "--qc-max-blur", "2");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("'--qc'", stderr);
    }

    [Fact]
    public void AJobWithQcRoundTripsAsVersionTwoAndAVersionOneMessageWithQcIsRefused()
    {
        var job = new SlideJob
        {
            Id = "j1",
            BatchId = "b",
            Slide = "/slides/a.svs",
            Model = "/models/m",
            Output = "/out",
            Parameters = new JobParameters { Qc = new JobQuality { MaxBlurFraction = 0.3 }, MaxBadTiles = 4 },
        };
        var json = job.ToJson();
        Assert.Contains("\"version\":2", System.Text.Encoding.UTF8.GetString(json));
        var back = SlideJob.Parse(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(0.3, back.Parameters.Qc!.ToOptions().MaxBlurFraction);
        // A message that says version 1 but carries qc would be half-run by an older worker: it is refused, named.
        var ex = Assert.Throws<JobFormatException>(() => SlideJob.Parse((job with { Version = 1 }).ToJson()));
        Assert.Contains("parameters.qc", ex.Message);
        // Newer than this worker knows: not malformed (a newer worker runs it), its own exception.
        var tooNew = Assert.Throws<JobTooNewException>(() => SlideJob.Parse((job with { Version = 3 }).ToJson()));
        Assert.Contains("newer than this worker understands (2)", tooNew.Message);
        Assert.Equal(3, tooNew.Version);
    }
}
