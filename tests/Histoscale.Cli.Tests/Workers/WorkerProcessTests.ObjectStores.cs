using System.Text.Json;
using Histoscale.Cli.Tests.Commands;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// Outputs straight to object storage (s3rver, Azurite, the loopback GCS stand-in), with the broker on the Pub/Sub
/// fake: outputs byte-identical to a single <c>infer</c>, a complete slide not run again, and the checkpoint kept at
/// the output so that a job redelivered to another worker (its own staging folder: another TMPDIR) resumes it.
/// </summary>
public sealed partial class WorkerProcessTests
{
    public static TheoryData<string> OutputStores() => [OutputStore.S3, OutputStore.Azure, OutputStore.Gcs];

    /// <summary>
    /// <c>submit --out s3://|az://|gs://...</c>: the worker stages each slide locally and uploads each finished file with
    /// one committed write; the objects are the single-process <c>infer</c> outputs and nothing else (no unfinished or
    /// checkpoint object). The same slide submitted again is acknowledged as complete without running it: its report
    /// at the output is the first run's.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(OutputStores))]
    public async Task AWorkerWritesItsOutputsStraightToObjectStorageAndDoesNotRunACompleteSlideAgain(string kind)
    {
        using var store = await OutputStore.CreateAsync(kind);
        var url = Brokers.QueueUrl(Brokers.PubSub, $"{kind}out");
        await SubmitTo(url, store.Prefix, fx.Small1, fx.Small2);
        using (var worker = new CliProcess(WorkerEnvironment(store), "worker", "--queue", url, "--idle-exit", "2"))
        {
            Assert.True(await worker.ExitCodeAsync() == 0, worker.Stderr);
            Assert.True(CompletedLine().Matches(worker.Stderr).Count == 2, worker.Stderr);
        }
        foreach (var slide in new[] { fx.Small1, fx.Small2 })
        {
            Assert.Equal(fx.ReferenceTable(slide), await store.GetAsync($"{Path.GetFileNameWithoutExtension(slide)}.tiles.csv"));
        }
        await AssertOnlyFinalOutputs(store, "small1", "small2");
        var report = await store.GetAsync(".histoscale/small1.run.json");

        await SubmitTo(url, store.Prefix, fx.Small1);
        using (var again = new CliProcess(WorkerEnvironment(store), "worker", "--queue", url, "--idle-exit", "2"))
        {
            Assert.True(await again.ExitCodeAsync() == 0, again.Stderr);
            Assert.Contains("small1.svs): already complete in its output", again.Stderr);
            Assert.DoesNotMatch(CompletedLine(), again.Stderr);
            Assert.Contains("worker: exiting: 1 completed", again.Stderr);
        }
        Assert.Equal(report, await store.GetAsync(".histoscale/small1.run.json")); // not rewritten by a second run
        await AssertOnlyFinalOutputs(store, "small1", "small2");
    }

    /// <summary>
    /// kill -9 mid-slide with an object-store output: the worker uploads the slide's checkpoint to the output every
    /// <c>--checkpoint-interval</c>; another worker (its own staging folder) takes the redelivered job, fetches that
    /// checkpoint and resumes from it; the tile table is byte-identical to a single <c>infer</c> and no checkpoint or
    /// unfinished object is left.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(OutputStores))]
    public async Task AWorkerKilledMidSlideIsResumedFromTheCheckpointAtTheObjectStoreOutputByAnotherWorker(string kind)
    {
        using var store = await OutputStore.CreateAsync(kind);
        var url = Brokers.QueueUrl(Brokers.PubSub, $"{kind}kill");
        await SubmitTo(url, store.Prefix, fx.Big);
        // One read thread and a short interval: several uploads land while the slide runs, on a fast machine too.
        string[] worker = ["worker", "--queue", url, "--idle-exit", "8", "--visibility-timeout", "3", "--checkpoint-interval", "0.2", "--workers", "1"];
        using (var victim = new CliProcess(WorkerEnvironment(store), worker))
        {
            var midSlide = await WaitForAsync(victim, async () => victim.Stderr.Contains("big.svs): started", StringComparison.Ordinal)
                && (await store.ListAsync()).GetValueOrDefault(".histoscale/big.results.bin") > 16 * 1024);
            Assert.True(midSlide, $"no checkpoint of the large slide appeared at {store.Prefix}:\n{victim.Stderr}");
            victim.KillHard();
            await victim.ExitCodeAsync();
            Assert.DoesNotContain("big.svs): completed", victim.Stderr);
        }
        using var second = new CliProcess(WorkerEnvironment(store), worker);
        Assert.True(await second.ExitCodeAsync() == 0, second.Stderr);
        var big = Assert.Single(CompletedLine().Matches(second.Stderr));
        Assert.True(int.Parse(big.Groups["resumed"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, $"the redelivered job did not resume from the checkpoint at the output:\n{second.Stderr}");
        Assert.Contains(".histoscale/big.results.bin (", second.Stderr); // fetched it
        Assert.Equal(fx.ReferenceTable(fx.Big), await store.GetAsync("big.tiles.csv"));
        using (var report = JsonDocument.Parse((await store.GetAsync(".histoscale/big.run.json"))!))
        {
            Assert.True(report.RootElement.GetProperty("slides")[0].GetProperty("tilesResumed").GetInt32() > 0);
        }
        await AssertOnlyFinalOutputs(store, "big");
    }

    /// <summary>
    /// SIGTERM with no grace and no periodic upload due (<c>--checkpoint-interval</c> an hour): the returned slide's
    /// checkpoint is uploaded to the output on the way out, and another worker resumes from it.
    /// </summary>
    [SkippableFact]
    public async Task ASlideReturnedAfterItsGracePeriodIsResumedFromTheObjectStoreOutputByAnotherWorker()
    {
        using var store = await OutputStore.CreateAsync(OutputStore.S3);
        var url = Brokers.QueueUrl(Brokers.PubSub, "s3grace");
        await SubmitTo(url, store.Prefix, fx.Big);
        var first = WorkerEnvironment(store);
        using (var worker = new CliProcess(first, "worker", "--queue", url, "--grace", "0", "--checkpoint-interval", "3600"))
        {
            var staging = Path.Combine(first["TMPDIR"], "histoscale-staging");
            Assert.True(await worker.WaitUntilAsync(() => Directory.Exists(staging)
                && Directory.EnumerateFiles(staging, "big.results.bin", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 16 * 1024)), worker.Stderr);
            worker.Terminate();
            Assert.True(await worker.ExitCodeAsync() == 0, worker.Stderr);
            Assert.Contains("big.svs): not finished within the grace period; returned to the queue", worker.Stderr);
            Assert.Contains("checkpoint uploaded to", worker.Stderr);
        }
        Assert.Contains(".histoscale/big.results.bin", (await store.ListAsync()).Keys);

        using var second = new CliProcess(WorkerEnvironment(store), "worker", "--queue", url, "--idle-exit", "2");
        Assert.True(await second.ExitCodeAsync() == 0, second.Stderr);
        var big = Assert.Single(CompletedLine().Matches(second.Stderr));
        Assert.NotEqual("0", big.Groups["resumed"].Value);
        Assert.Equal(fx.ReferenceTable(fx.Big), await store.GetAsync("big.tiles.csv"));
        await AssertOnlyFinalOutputs(store, "big");
    }

    /// <summary>The Pub/Sub fake's and the store's variables, and a temporary folder of the process's own (its staging folders: another machine's disk).</summary>
    private Dictionary<string, string> WorkerEnvironment(OutputStore store)
    {
        var env = Brokers.ProcessEnvironment(Brokers.PubSub)!;
        foreach (var (key, value) in store.Environment)
        {
            env[key] = value;
        }
        env["TMPDIR"] = Directory.CreateDirectory(Path.Combine(_out, "tmp-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        return env;
    }

    private async Task SubmitTo(string url, string output, params string[] slides)
    {
        var (code, stdout, stderr) = await ReaderCommandsTests.Run(["submit", .. slides, "--queue", url, "--model", fx.Model, "--out", output, .. WorkerFixture.Flags]);
        Assert.True(code == 0, stderr);
        Assert.StartsWith($"submitted {slides.Length} job", stdout);
    }

    /// <summary>Under the prefix: each slide's outputs (as its report lists them), its report and its state, nothing else.</summary>
    private static async Task AssertOnlyFinalOutputs(OutputStore store, params string[] names)
    {
        var expected = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var bytes = await store.GetAsync($".histoscale/{name}.run.json");
            Assert.True(bytes is not null, $"no report for {name} at {store.Prefix}");
            using var report = JsonDocument.Parse(bytes!);
            foreach (var output in report.RootElement.GetProperty("slides")[0].GetProperty("outputs").EnumerateArray())
            {
                expected.Add(output.GetString()!);
            }
            expected.Add($".histoscale/{name}.run.json");
            expected.Add($".histoscale/{name}.state.json");
        }
        Assert.Equal(expected, new SortedSet<string>((await store.ListAsync()).Keys, StringComparer.Ordinal));
    }

    /// <summary>Polls (test plumbing, not a timed assertion) until the condition holds or the process exits.</summary>
    private static async Task<bool> WaitForAsync(CliProcess process, Func<Task<bool>> condition, int limitSeconds = 120)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < limitSeconds)
        {
            if (await condition())
            {
                return true;
            }
            if (process.HasExited)
            {
                return await condition();
            }
            await Task.Delay(100);
        }
        return false;
    }
}
