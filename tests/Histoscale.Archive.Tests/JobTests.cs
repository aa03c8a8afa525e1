using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Jobs;
using Histoscale.Archive.Tests.Support;
using Histoscale.Inference;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;

namespace Histoscale.Archive.Tests;

/// <summary>
/// Model jobs over HTTP: a job runs the repository's model on a slide in the server's process, its progress reaches
/// tiles done = total, its heatmap becomes an overlay and its DSA annotation an annotation of the slide; bad requests
/// are 4xx naming the field and store nothing; cancel; a job left running by a killed process resumes at the next
/// start. The same suite on SQLite and PostgreSQL.
/// </summary>
public abstract class JobContract(DataFixture fixture) : IClassFixture<DataFixture>
{
    private static readonly string A = SlideCatalog.IdOf("alpha", "a.svs");
    private static readonly string B = SlideCatalog.IdOf("beta", "b.tif");

    protected ArchiveData Data => fixture.Data;

    protected abstract string NewDatabase();

    private ArchiveOptions Options(string database, string results, string models, ArchiveJobOptions? jobs) => new()
    {
        Collections = Data.Collections,
        ResultsDirectory = results,
        Database = database,
        AdminToken = ArchiveHost.AdminToken,
        ModelRepository = models,
        Jobs = jobs,
    };

    private string NewResults() => Directory.CreateDirectory(Path.Combine(Data.Root, "job-results-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    private static HttpClient Client(ArchiveServer server, string? token = ArchiveHost.AdminToken)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Polls the job until it has ended (queued and running are not ends).</summary>
    internal static async Task<JsonNode> WaitAsync(HttpClient client, string id)
    {
        for (var i = 0; i < 1200; i++)
        {
            var job = JsonNode.Parse(await client.GetStringAsync($"/api/v1/jobs/{id}"))!;
            if ((string)job["state"]! is not (JobRunner.Queued or JobRunner.Running))
            {
                return job;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"job {id} did not end in 2 minutes");
    }

    [SkippableFact]
    public async Task A_job_runs_the_model_and_its_heatmap_becomes_an_overlay_and_an_annotation()
    {
        var database = NewDatabase();
        var results = NewResults();
        await using var server = await ArchiveServer.StartAsync(Options(database, results, TestModels.Repository(Data.Root), TestModels.Jobs()), "127.0.0.1", 0);
        using var admin = Client(server);
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{B}/overlays"))!.AsArray());

        var submitted = await admin.PostAsync("/api/v1/jobs", Json($$$"""{"slideIds":["{{{B}}}"],"model":"{{{TestModels.Tissue}}}","parameters":{"batch":8}}"""));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var id = (string)JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!;
        Assert.Equal($"/api/v1/jobs/{id}", submitted.Headers.Location?.OriginalString);
        var job = await WaitAsync(admin, id);

        Assert.True((string)job["state"]! == JobRunner.Completed, job.ToJsonString());
        var progress = job["progress"]!;
        Assert.Equal(1, (int)progress["slidesDone"]!);
        Assert.True((long)progress["tilesTotal"]! > 0);
        Assert.Equal((long)progress["tilesTotal"]!, (long)progress["tilesDone"]!);
        Assert.Equal(8, (int)job["parameters"]!["batch"]!);
        // Written to the slide's place under --results, with infer's records.
        Assert.True(File.Exists(Path.Combine(results, "beta", "b.heatmap.tif")));
        Assert.True(File.Exists(Path.Combine(results, "beta", ".histoscale", "b.state.json")));
        var overlays = JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{B}/overlays"))!.AsArray();
        Assert.Single(overlays);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/slides/{B}/overlays/{(string)overlays[0]!["id"]!}/dzi")).StatusCode);
        var annotations = JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{B}/annotations"))!.AsArray();
        Assert.Contains(annotations, a => ((string?)a!["annotation"]?["name"] ?? (string?)a["name"])?.Contains(id, StringComparison.Ordinal) == true);

        var list = JsonNode.Parse(await admin.GetStringAsync($"/api/v1/jobs?slideId={B}"))!.AsArray();
        Assert.Equal(id, (string)list.Single()!["id"]!);
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/jobs?slideId={A}"))!.AsArray());
        // An ended job cannot be cancelled.
        var cancel = await admin.DeleteAsync($"/api/v1/jobs/{id}");
        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        Assert.Contains("completed", await cancel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("""{"model":"tissue"}""", 400, "slideIds")]
    [InlineData("""{"slideIds":[],"model":"tissue"}""", 400, "slideIds")]
    [InlineData("""{"slideIds":[42],"model":"tissue"}""", 400, "slideIds[0]")]
    [InlineData("""{"slideIds":["SLIDE"]}""", 400, "model")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"../tissue"}""", 400, "model")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"nosuch"}""", 400, "nosuch")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"tissue","version":7}""", 400, "version")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"tissue","parameters":{"batch":0}}""", 400, "parameters.batch")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"tissue","parameters":{"mpp":"fine"}}""", 400, "parameters.mpp")]
    [InlineData("""{"slideIds":["SLIDE"],"model":"tissue","parameters":{"minTissue":2}}""", 400, "parameters.minTissue")]
    [InlineData("""{"slideIds":["SLIDE","0123456789abcdef01234567"],"model":"tissue"}""", 404, "slideIds[1]")]
    [InlineData("""[1,2]""", 400, "object")]
    public async Task Bad_requests_name_the_field_and_store_nothing(string body, int status, string named)
    {
        await using var server = await ArchiveServer.StartAsync(Options(NewDatabase(), NewResults(), TestModels.Repository(Data.Root), TestModels.Jobs()), "127.0.0.1", 0);
        using var admin = Client(server);
        var response = await admin.PostAsync("/api/v1/jobs", Json(body.Replace("SLIDE", A, StringComparison.Ordinal)));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(named, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!, StringComparison.Ordinal);
        Assert.Empty(JsonNode.Parse(await admin.GetStringAsync("/api/v1/jobs"))!.AsArray());
    }

    [SkippableFact]
    public async Task Submitting_needs_annotate_in_every_slides_collection_and_a_server_with_jobs()
    {
        var database = NewDatabase();
        var alphaAnnotator = await ArchiveTokens.CreateAsync(database, ArchiveRole.Annotate, "alpha");
        var models = TestModels.Repository(Data.Root);
        await using (var server = await ArchiveServer.StartAsync(Options(database, NewResults(), models, TestModels.Jobs()), "127.0.0.1", 0))
        {
            using var annotator = Client(server, alphaAnnotator);
            var refused = await annotator.PostAsync("/api/v1/jobs", Json($$"""{"slideIds":["{{A}}","{{B}}"],"model":"tissue"}"""));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("slideIds[1]", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Empty(JsonNode.Parse(await Client(server).GetStringAsync("/api/v1/jobs"))!.AsArray());
        }
        await using (var server = await ArchiveServer.StartAsync(Options(database, NewResults(), models, null), "127.0.0.1", 0))
        {
            var off = await Client(server).PostAsync("/api/v1/jobs", Json($$"""{"slideIds":["{{A}}"],"model":"tissue"}"""));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, off.StatusCode);
        }
    }

    [SkippableFact]
    public async Task A_queued_job_can_be_cancelled_and_the_next_job_still_runs()
    {
        // One job at a time: the second waits behind the first, is cancelled there, and never runs.
        await using var server = await ArchiveServer.StartAsync(Options(NewDatabase(), NewResults(), TestModels.Repository(Data.Root), TestModels.Jobs(concurrency: 1)), "127.0.0.1", 0);
        using var admin = Client(server);
        var first = (string)JsonNode.Parse(await (await admin.PostAsync("/api/v1/jobs", Json($$"""{"slideIds":["{{A}}","{{B}}"],"model":"tissue"}"""))).Content.ReadAsStringAsync())!["id"]!;
        var second = (string)JsonNode.Parse(await (await admin.PostAsync("/api/v1/jobs", Json($$$"""{"slideIds":["{{{B}}}"],"model":"tissue","parameters":{"batch":4}}"""))).Content.ReadAsStringAsync())!["id"]!;
        var cancelled = await admin.DeleteAsync($"/api/v1/jobs/{second}");
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(JobRunner.Cancelled, (string)JsonNode.Parse(await cancelled.Content.ReadAsStringAsync())!["state"]!);
        Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, first))["state"]!);
        var after = JsonNode.Parse(await admin.GetStringAsync($"/api/v1/jobs/{second}"))!;
        Assert.Equal(JobRunner.Cancelled, (string)after["state"]!);
        Assert.Equal(0, (long)after["progress"]!["tilesDone"]!);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync($"/api/v1/jobs/{second}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/jobs/0123456789abcdef01234567")).StatusCode);
    }

    [SkippableFact]
    public async Task A_job_left_running_by_a_killed_server_resumes_at_the_next_start()
    {
        var database = NewDatabase();
        var results = NewResults();
        var models = TestModels.Repository(Data.Root);
        // What a process killed mid-job leaves: the job stored, in state running.
        await using (var before = await SlideArchive.OpenAsync(Options(database, results, models, null)))
        {
            var request = new JobRequest { SlideIds = [A], Model = TestModels.Tissue };
            var record = await before.Repository.CreateJobAsync(request.Model, request.ToString(), ["alpha"], 1, default);
            Assert.True(await before.Repository.SetJobStateAsync(record.Id, JobRunner.Running, [JobRunner.Queued], null, default));
        }
        await using var server = await ArchiveServer.StartAsync(Options(database, results, models, TestModels.Jobs()), "127.0.0.1", 0);
        Assert.Equal(1, server.Archive.JobsResumed);
        using var admin = Client(server);
        var id = (string)JsonNode.Parse(await admin.GetStringAsync("/api/v1/jobs"))!.AsArray().Single()!["id"]!;
        Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, id))["state"]!);
        Assert.Single(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{A}/overlays"))!.AsArray());
    }

    private static async Task<string> SubmitAsync(HttpClient client, string slide)
    {
        var response = await client.PostAsync("/api/v1/jobs", Json($$"""{"slideIds":["{{slide}}"],"model":"tissue"}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return (string)JsonNode.Parse(body)!["id"]!;
    }

    private static IEnumerable<JsonNode> AnnotationsOfJob(JsonArray annotations, string id) =>
        annotations.Where(a => ((string?)a!["annotation"]?["name"] ?? (string?)a["name"])?.Contains(id, StringComparison.Ordinal) == true).Select(a => a!);

    [SkippableFact]
    public async Task Two_jobs_of_one_slide_run_it_one_after_the_other()
    {
        var gates = new GatedBackends();
        await using var server = await ArchiveServer.StartAsync(Options(NewDatabase(), NewResults(), TestModels.Repository(Data.Root), gates.Options(concurrency: 2)), "127.0.0.1", 0);
        using var admin = Client(server);
        try
        {
            var first = await SubmitAsync(admin, B);
            await gates.FirstBlocked.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var second = await SubmitAsync(admin, B);
            // Two loops, so the second job starts at once: it either runs the slide into the first one's files or waits for it.
            var runner = server.Archive.Jobs!;
            for (var i = 0; !gates.LaterRan.Task.IsCompleted && runner.SlideWaits == 0; i++)
            {
                Assert.True(i < 1200, "the second job neither ran nor waited in 2 minutes");
                await Task.Delay(100);
            }
            Assert.False(gates.LaterRan.Task.IsCompleted, "the second job ran the slide while the first job was running it into the same files");
            gates.Release.TrySetResult();
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, first))["state"]!);
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, second))["state"]!);
            Assert.Single(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{B}/overlays"))!.AsArray());
            // The lock both jobs shared (one waited on it) is gone with them.
            Assert.Equal(0, runner.SlideLockCount);
        }
        finally
        {
            gates.Release.TrySetResult();
        }
    }

    [SkippableFact]
    public async Task A_finished_job_frees_its_slide_lock()
    {
        await using var server = await ArchiveServer.StartAsync(Options(NewDatabase(), NewResults(), TestModels.Repository(Data.Root), TestModels.Jobs()), "127.0.0.1", 0);
        using var admin = Client(server);
        var id = await SubmitAsync(admin, B);
        Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, id))["state"]!);
        // One lock per slide a job runs or waits for, never kept afterwards: a long-running server does not grow.
        Assert.Equal(0, server.Archive.Jobs!.SlideLockCount);
    }

    [SkippableFact]
    public async Task A_resumed_job_does_not_store_its_annotations_again()
    {
        var database = NewDatabase();
        var results = NewResults();
        var models = TestModels.Repository(Data.Root);
        string id;
        await using (var server = await ArchiveServer.StartAsync(Options(database, results, models, TestModels.Jobs()), "127.0.0.1", 0))
        {
            using var admin = Client(server);
            id = await SubmitAsync(admin, A);
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, id))["state"]!);
            Assert.Single(AnnotationsOfJob(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{A}/annotations"))!.AsArray(), id));
        }
        // As a process killed after the slide was done but before the job's end was written leaves it.
        await using (var archive = await SlideArchive.OpenAsync(Options(database, results, models, null)))
        {
            Assert.True(await archive.Repository.SetJobStateAsync(id, JobRunner.Running, [JobRunner.Completed], null, default));
        }
        await using (var server = await ArchiveServer.StartAsync(Options(database, results, models, TestModels.Jobs()), "127.0.0.1", 0))
        {
            Assert.Equal(1, server.Archive.JobsResumed);
            using var admin = Client(server);
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, id))["state"]!);
            Assert.Single(AnnotationsOfJob(JsonNode.Parse(await admin.GetStringAsync($"/api/v1/slides/{A}/annotations"))!.AsArray(), id));
        }
    }

    [SkippableFact]
    public async Task Submits_beyond_the_queue_limit_are_refused_until_jobs_end()
    {
        var gates = new GatedBackends();
        await using var server = await ArchiveServer.StartAsync(Options(NewDatabase(), NewResults(), TestModels.Repository(Data.Root), gates.Options(concurrency: 1, queueLimit: 2)), "127.0.0.1", 0);
        using var admin = Client(server);
        try
        {
            var first = await SubmitAsync(admin, B);
            await gates.FirstBlocked.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var second = await SubmitAsync(admin, A);
            var refused = await admin.PostAsync("/api/v1/jobs", Json($$"""{"slideIds":["{{A}}"],"model":"tissue"}"""));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            var error = (string)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
            Assert.Contains("queue is full", error, StringComparison.Ordinal);
            Assert.Contains("2 jobs", error, StringComparison.Ordinal);
            Assert.Equal(2, JsonNode.Parse(await admin.GetStringAsync("/api/v1/jobs"))!.AsArray().Count);
            gates.Release.TrySetResult();
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, first))["state"]!);
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, second))["state"]!);
            // Ended jobs leave room.
            Assert.Equal(JobRunner.Completed, (string)(await WaitAsync(admin, await SubmitAsync(admin, A)))["state"]!);
        }
        finally
        {
            gates.Release.TrySetResult();
        }
    }

    [SkippableFact]
    public async Task Listing_finds_the_callers_jobs_behind_newer_jobs_it_may_not_read()
    {
        var database = NewDatabase();
        var models = TestModels.Repository(Data.Root);
        var betaReader = await ArchiveTokens.CreateAsync(database, ArchiveRole.Read, "beta");
        string betaJob;
        await using (var archive = await SlideArchive.OpenAsync(Options(database, NewResults(), models, null)))
        {
            betaJob = (await archive.Repository.CreateJobAsync(TestModels.Tissue, new JobRequest { SlideIds = [B], Model = TestModels.Tissue }.ToString(), ["beta"], 1, default)).Id;
            for (var i = 0; i < 3; i++)
            {
                await archive.Repository.CreateJobAsync(TestModels.Tissue, new JobRequest { SlideIds = [A], Model = TestModels.Tissue }.ToString(), ["alpha"], 1, default);
            }
        }
        await using var server = await ArchiveServer.StartAsync(Options(database, NewResults(), models, null), "127.0.0.1", 0);
        using var reader = Client(server, betaReader);
        Assert.Equal(betaJob, (string)JsonNode.Parse(await reader.GetStringAsync("/api/v1/jobs?limit=1"))!.AsArray().Single()!["id"]!);
        Assert.Equal(betaJob, (string)JsonNode.Parse(await reader.GetStringAsync("/api/v1/jobs?limit=2"))!.AsArray().Single()!["id"]!);
        using var admin = Client(server);
        var newest = JsonNode.Parse(await admin.GetStringAsync("/api/v1/jobs?limit=2"))!.AsArray();
        Assert.Equal(2, newest.Count);
        Assert.DoesNotContain(newest, j => (string)j!["id"]! == betaJob);
    }
}

/// <summary>
/// Jobs' backends on ONNX Runtime where the first job's first batch waits for <see cref="Release"/>, so that job stays
/// running while a test submits others; <see cref="LaterRan"/> says a later job's backend ran a batch.
/// </summary>
internal sealed class GatedBackends
{
    private int _made;

    public TaskCompletionSource FirstBlocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource LaterRan { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ArchiveJobOptions Options(int concurrency, int queueLimit = 100) => TestModels.Jobs(concurrency) with
    {
        Backends = Make,
        QueueLimit = queueLimit,
    };

    private Gated Make(ModelDescription model, int batch) =>
        new(TestModels.Jobs().Backends(model, batch), this, Interlocked.Increment(ref _made) == 1);

    private sealed class Gated(IInferenceBackend inner, GatedBackends gates, bool first) : IInferenceBackend
    {
        public BackendMetadata Metadata => inner.Metadata;

        public int InstanceCount => inner.InstanceCount;

        public async ValueTask<TensorSet> ExecuteAsync(TensorSet inputs, CancellationToken cancellationToken = default)
        {
            if (first)
            {
                gates.FirstBlocked.TrySetResult();
                await gates.Release.Task.WaitAsync(cancellationToken);
            }
            else
            {
                gates.LaterRan.TrySetResult();
            }
            return await inner.ExecuteAsync(inputs, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>The job suite on SQLite.</summary>
public sealed class SqliteJobTests(DataFixture fixture) : JobContract(fixture)
{
    protected override string NewDatabase() => Databases.NewSqlite(Data.Root);
}

/// <summary>The job suite on a real PostgreSQL server (skipped with a message when none is configured).</summary>
public sealed class PostgresJobTests(DataFixture fixture) : JobContract(fixture)
{
    protected override string NewDatabase()
    {
        Skip.If(Databases.PostgresServer is null, Databases.SkipReason);
        return Databases.NewPostgres();
    }
}
