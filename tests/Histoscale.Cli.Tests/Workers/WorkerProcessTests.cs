using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Histoscale.Cli.Tests.Commands;
using Histoscale.Workers.Brokers;
using Histoscale.Workers.Jobs;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// <c>submit</c>, <c>worker</c> and <c>queue</c> as separate processes on loopback against the real Redis and
/// RabbitMQ: a worker killed mid-slide, poison jobs, SIGTERM, metrics, bad input.
/// </summary>
[Collection(nameof(WorkerProcessTests))]
public sealed partial class WorkerProcessTests(WorkerFixture fx) : IClassFixture<WorkerFixture>, IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("histoscale-worker-out-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    public static TheoryData<string> BrokerKinds() => [Brokers.Redis, Brokers.RabbitMq];

    [SkippableTheory]
    [MemberData(nameof(BrokerKinds))]
    [InlineData(Brokers.AzureQueue)]
    [InlineData(Brokers.Sqs)]
    [InlineData(Brokers.PubSub)]
    public async Task AWorkerKilledMidSlideLosesNothingAndDuplicatesNothing(string broker)
    {
        var url = Brokers.QueueUrl(broker, "kill");
        // Azure and SQS take their credentials (and SQS its endpoint) from the environment, as in production; the
        // processes get the emulators'.
        var env = Brokers.ProcessEnvironment(broker);
        if (env is null)
        {
            await Submit(url, fx.Big, fx.Small1, fx.Small2);
        }
        else
        {
            await using var q = await JobQueues.OpenAsync(url, Brokers.Options(broker));
            foreach (var slide in new[] { fx.Big, fx.Small1, fx.Small2 })
            {
                await q.EnqueueAsync(Job(slide, _out).ToJson());
            }
        }

        string[] worker = ["worker", "--queue", url, "--idle-exit", "8", "--visibility-timeout", "3"];
        var checkpoint = Path.Combine(_out, ".histoscale", "big.results.bin");
        using (var victim = new CliProcess(env, worker))
        {
            // The large slide is first on the queue: kill the worker once part of it is in the checkpoint.
            var midSlide = await victim.WaitUntilAsync(() => victim.Stderr.Contains("big.svs): started", StringComparison.Ordinal) && File.Exists(checkpoint) && new FileInfo(checkpoint).Length > 64 * 1024);
            Assert.True(midSlide, $"the worker never got into the large slide:\n{victim.Stderr}");
            victim.KillHard();
            await victim.ExitCodeAsync();
            Assert.DoesNotContain("big.svs): completed", victim.Stderr);
        }
        using var second = new CliProcess(env, worker);
        using var third = new CliProcess(env, worker);
        Assert.True(await second.ExitCodeAsync() == 0, second.Stderr);
        Assert.True(await third.ExitCodeAsync() == 0, third.Stderr);

        var logs = second.Stderr + third.Stderr;
        Assert.Equal(3, CompletedLine().Matches(logs).Count);
        var big = Assert.Single(CompletedLine().Matches(logs), m => m.Value.Contains("big.svs", StringComparison.Ordinal));
        Assert.True(int.Parse(big.Groups["resumed"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, $"the redelivered job did not resume from the checkpoint: {big.Value}");
        foreach (var slide in new[] { fx.Big, fx.Small1, fx.Small2 })
        {
            Assert.Equal(fx.ReferenceTable(slide), File.ReadAllBytes(Path.Combine(_out, Path.GetFileNameWithoutExtension(slide) + ".tiles.csv")));
        }
        AssertNoTemporaryFiles();
        if (env is not null)
        {
            await using var q = await JobQueues.OpenAsync(url, Brokers.Options(broker));
            Assert.Equal(new QueueStatus(0, broker == Brokers.Sqs ? 0 : null, null, null, 0), await q.StatusAsync());
            return;
        }
        var status = await Status(url);
        Assert.Equal(0, status.GetProperty("pending").GetInt64());
        Assert.Equal(0, status.GetProperty("deadLettered").GetInt64());
        if (broker == Brokers.Redis)
        {
            Assert.Equal(3, status.GetProperty("completed").GetInt64());
            Assert.Equal(0, status.GetProperty("running").GetInt64());
        }
    }

    [SkippableTheory]
    [MemberData(nameof(BrokerKinds))]
    [InlineData(Brokers.Sqs)]
    [InlineData(Brokers.PubSub)]
    public async Task PoisonAndFailingJobsAreDeadLetteredWithTheirReasonAndTheWorkerKeepsGoing(string broker)
    {
        var url = Brokers.QueueUrl(broker, "poison");
        var blocker = Path.Combine(_out, "a-file");
        File.WriteAllText(blocker, "not a folder");
        await using (var q = await JobQueues.OpenAsync(url, Brokers.Options(broker)))
        {
            await q.EnqueueAsync("{\"id\": \"x\", \"slide\": "u8.ToArray());
            await q.EnqueueAsync("{\"version\": 99, \"id\": \"x\"}"u8.ToArray());
            await q.EnqueueAsync(Job(Path.Combine(fx.Dir, "missing.svs"), _out).ToJson());
            await q.EnqueueAsync(Job(fx.Small1, Path.Combine(blocker, "out")).ToJson());
            await q.EnqueueAsync(Job(fx.Small2, _out).ToJson());
        }
        var (code, _, stderr) = await ReaderCommandsTests.Run("worker", "--queue", url, "--idle-exit", "1", "--max-attempts", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("malformed job message: not a valid job message", stderr);
        // Too new is not malformed: returned for a newer worker, dead-lettered only once its attempts are used up.
        Assert.Contains($"returned a job message to the queue for a newer worker: job version 99 is newer than this worker understands ({SlideJob.CurrentVersion})", stderr);
        Assert.Contains("(attempt 2 of 2; after upgrading, `histoscale queue retry-dead` requeues it)", stderr);
        Assert.DoesNotContain("malformed job message: job version", stderr);
        Assert.Contains("missing.svs", stderr);
        Assert.Contains("output folder is not writable", stderr);
        Assert.Equal(2, Regex.Matches(stderr, "missing.svs\\): failed \\(attempt").Count);
        Assert.Equal(fx.ReferenceTable(fx.Small2), File.ReadAllBytes(Path.Combine(_out, "small2.tiles.csv")));
        // Workers share the output folder: each slide's report goes beside its checkpoint, no shared run.json.
        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, ".histoscale", "small2.run.json"))))
        {
            Assert.Equal("small2", report.RootElement.GetProperty("slides")[0].GetProperty("name").GetString());
        }
        Assert.False(File.Exists(Path.Combine(_out, "run.json")));

        var status = await Status(url);
        Assert.Equal(4, status.GetProperty("deadLettered").GetInt64());
        Assert.Equal(0, status.GetProperty("pending").GetInt64());

        (code, var stdout, stderr) = await ReaderCommandsTests.Run("queue", "retry-dead", "--queue", url);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("4 dead-lettered jobs back on", stdout);
        status = await Status(url);
        Assert.Equal(4, status.GetProperty("pending").GetInt64());
        Assert.Equal(0, status.GetProperty("deadLettered").GetInt64());
    }

    /// <summary>SIGTERM mid-slide: with no grace the slide goes back to the queue (checkpoint kept) and a later worker resumes it; with grace it is finished. Exit 0 either way.</summary>
    [SkippableTheory]
    [InlineData(0)]
    [InlineData(300)]
    public async Task SigtermStopsTakingJobsAndFinishesOrReturnsTheSlideInHand(int grace)
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "sigterm");
        await Submit(url, fx.Big, fx.Small1);
        var checkpoint = Path.Combine(_out, ".histoscale", "big.results.bin");
        using (var worker = new CliProcess("worker", "--queue", url, "--grace", grace.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            Assert.True(await worker.WaitUntilAsync(() => File.Exists(checkpoint) && new FileInfo(checkpoint).Length > 64 * 1024), worker.Stderr);
            worker.Terminate();
            Assert.True(await worker.ExitCodeAsync() == 0, worker.Stderr);
            Assert.Contains("stop requested", worker.Stderr);
            Assert.DoesNotContain("small1.svs): started", worker.Stderr); // no job taken after SIGTERM
            if (grace == 0)
            {
                Assert.Contains("big.svs): not finished within the grace period; returned to the queue", worker.Stderr);
            }
            else
            {
                Assert.Matches(CompletedLine(), worker.Stderr);
            }
        }
        var status = await Status(url);
        Assert.Equal(grace == 0 ? 2 : 1, status.GetProperty("pending").GetInt64());
        Assert.Equal(0, status.GetProperty("running").GetInt64());

        var (code, _, stderr) = await ReaderCommandsTests.Run("worker", "--queue", url, "--idle-exit", "1");
        Assert.True(code == 0, stderr);
        if (grace == 0)
        {
            var big = Assert.Single(CompletedLine().Matches(stderr), m => m.Value.Contains("big.svs", StringComparison.Ordinal));
            Assert.NotEqual("0", big.Groups["resumed"].Value);
        }
        Assert.Equal(fx.ReferenceTable(fx.Big), File.ReadAllBytes(Path.Combine(_out, "big.tiles.csv")));
        AssertNoTemporaryFiles();
    }

    /// <summary>
    /// The broker drops the worker's connection while it polls an empty queue (closed from the server side, as in a
    /// broker restart): the worker connects again and takes a job submitted afterwards.
    /// </summary>
    [SkippableFact]
    public async Task ARabbitMqWorkerRecoversFromALostConnection()
    {
        var url = Brokers.QueueUrl(Brokers.RabbitMq, "reconnect");
        using var worker = new CliProcess("worker", "--queue", url, "--grace", "0");
        Assert.True(await worker.WaitUntilAsync(() => worker.Stderr.Contains("worker: taking jobs from", StringComparison.Ordinal)), worker.Stderr);
        await Task.Delay(1000); // in the idle loop
        Brokers.CloseAllRabbitMqConnections();
        await Task.Delay(1000); // the next polls meet the closed connection
        await Submit(url, fx.Small1);
        Assert.True(await worker.WaitUntilAsync(() => CompletedLine().IsMatch(worker.Stderr)), worker.Stderr);
        worker.Terminate();
        Assert.True(await worker.ExitCodeAsync() == 0, worker.Stderr);
        Assert.Equal(fx.ReferenceTable(fx.Small1), File.ReadAllBytes(Path.Combine(_out, "small1.tiles.csv")));
    }

    [SkippableFact]
    public async Task AWorkerExportsPrometheusMetrics()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "metrics");
        await Submit(url, fx.Small1);
        var port = FreePort();
        using var worker = new CliProcess("worker", "--queue", url, "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--idle-exit", "30");
        Assert.True(await worker.WaitUntilAsync(() => CompletedLine().IsMatch(worker.Stderr)), worker.Stderr);
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        worker.Terminate();
        Assert.Equal(0, await worker.ExitCodeAsync());
        var tiles = File.ReadLines(Path.Combine(_out, "small1.tiles.csv")).Count() - 1;
        Assert.Contains($"histoscale_tiles_total {tiles}", text);
        Assert.Contains("histoscale_jobs_in_flight 0", text);
        Assert.Contains("histoscale_job_seconds_count{outcome=\"completed\"} 1", text);
        Assert.Contains("histoscale_queue_pending", text);
    }

    [Fact]
    public async Task BadQueueInputExitsTwoWithOneLine()
    {
        var (code, _, stderr) = await ReaderCommandsTests.Run("worker", "--queue", "kafka://eu-west-1/jobs");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("unknown scheme 'kafka'", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("queue", "status", "--queue", $"redis://127.0.0.1:{FreePort()}", "--connect-attempts", "2");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("broker unreachable after 2 attempts", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("worker", "--queue", "redis://127.0.0.1:1", "--checkpoint-interval", "0");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--checkpoint-interval more than 0", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("submit", fx.Small1, "--queue", "redis://127.0.0.1:1", "--model", fx.Model, "--out", "ftp://host/results/");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("--out ftp://host/results/", stderr);
        Assert.Contains("object-store prefix", stderr);

        (code, _, stderr) = await ReaderCommandsTests.Run("submit", fx.Small1, "--queue", "redis://127.0.0.1:1", "--model", fx.Model, "--out", _out, "--batch", "0");
        Assert.Equal(CliRunner.BadInput, code);
        Assert.Contains("'--batch' must be at least 1", stderr);
    }

    [Fact]
    public void AJobMessageRoundTripsAndNamesWhatIsWrong()
    {
        var job = Job(fx.Small1, _out) with { Parameters = new JobParameters { Batch = 8, Mean = [1, 2, 3], Std = [4, 5, 6], Classes = ["a", "b"] } };
        var back = SlideJob.Parse(job.ToJson());
        Assert.Equal(job.ToJson(), back.ToJson());
        Assert.Contains("\"version\":1", System.Text.Encoding.UTF8.GetString(job.ToJson()));
        Assert.Contains("'output'", Assert.Throws<JobFormatException>(() => SlideJob.Parse((job with { Output = " " }).ToJson())).Message);
        Assert.Contains("'parameters.batch'", Assert.Throws<JobFormatException>(() => SlideJob.Parse((job with { Parameters = new JobParameters { Batch = 0 } }).ToJson())).Message);
        Assert.Contains("is a JSON object", Assert.Throws<JobFormatException>(() => SlideJob.Parse("[1]"u8)).Message);
    }

    private SlideJob Job(string slide, string output) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        BatchId = "test",
        Slide = slide,
        Model = fx.Model,
        Output = output,
        Parameters = new JobParameters { Batch = 16, DetectTissue = false },
    };

    private async Task Submit(string url, params string[] slides)
    {
        var (code, stdout, stderr) = await ReaderCommandsTests.Run(["submit", .. slides, "--queue", url, "--model", fx.Model, "--out", _out, .. WorkerFixture.Flags]);
        Assert.True(code == 0, stderr);
        Assert.StartsWith($"submitted {slides.Length} job", stdout);
    }

    private static async Task<JsonElement> Status(string url)
    {
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("queue", "status", "--queue", url, "--json");
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private void AssertNoTemporaryFiles()
    {
        var leftovers = Directory.GetFiles(_out, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".partial", StringComparison.Ordinal) || f.EndsWith(".results.bin", StringComparison.Ordinal))
            .ToList();
        Assert.True(leftovers.Count == 0, string.Join(", ", leftovers));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"job \S+ \((?<slide>[^()]+)\): completed, \d+ tiles \((?<resumed>\d+) resumed from the checkpoint\)")]
    private static partial Regex CompletedLine();
}
