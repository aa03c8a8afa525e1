using System.Text;
using Histoscale.Workers.Brokers;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>The broker implementations on the real servers: attempts, retries, dead letters, redelivery after a worker dies.</summary>
public sealed class QueueSemanticsTests
{
    public static TheoryData<string> BrokerKinds() => [Brokers.Redis, Brokers.RabbitMq, Brokers.AzureQueue, Brokers.Sqs, Brokers.PubSub];

    [SkippableTheory]
    [MemberData(nameof(BrokerKinds))]
    public async Task AttemptsAreCountedAndALastFailureIsDeadLetteredUntilRetried(string broker)
    {
        var url = Brokers.QueueUrl(broker, "semantics");
        await using var q = await JobQueues.OpenAsync(url, Brokers.Options(broker));
        await q.EnqueueAsync(Encoding.UTF8.GetBytes("one"));
        Assert.Equal(1, (await q.StatusAsync()).Pending);

        var first = await q.TakeAsync();
        Assert.NotNull(first);
        Assert.Equal(1, first.Attempt);
        Assert.Null(await q.TakeAsync()); // taken: invisible to others
        await first.RetryAsync("boom 1");

        var second = await q.TakeAsync();
        Assert.NotNull(second);
        Assert.Equal(2, second.Attempt);
        Assert.Equal("one", Encoding.UTF8.GetString(second.Body.Span));
        await second.ReturnAsync(); // a stopping worker's return does not count

        var third = await q.TakeAsync();
        Assert.Equal(broker is Brokers.AzureQueue or Brokers.Sqs ? 3 : 2, third!.Attempt); // Azure and SQS count every delivery, a return too
        await third.DeadLetterAsync("boom 2");
        var status = await q.StatusAsync();
        Assert.Equal(0, status.Pending);
        Assert.Equal(1, status.DeadLettered);
        Assert.Null(await q.TakeAsync());

        Assert.Equal(1, await q.RetryDeadAsync());
        var again = await q.TakeAsync();
        Assert.Equal(1, again!.Attempt);
        await again.CompleteAsync();
        status = await q.StatusAsync();
        Assert.Equal(0, status.Pending);
        Assert.Equal(0, status.DeadLettered);
        if (broker == Brokers.Redis)
        {
            Assert.Equal(new QueueStatus(0, 0, 1, 2, 0), status);
        }
    }

    /// <summary>A worker that takes a job and dies: the job is delivered to another worker, as a further attempt.</summary>
    [SkippableTheory]
    [MemberData(nameof(BrokerKinds))]
    public async Task AJobWhoseWorkerDiedIsDeliveredAgain(string broker)
    {
        var url = Brokers.QueueUrl(broker, "redelivery");
        var options = Brokers.Options(broker) with { VisibilityTimeout = TimeSpan.FromSeconds(1) };
        await using var survivor = await JobQueues.OpenAsync(url, options with { ConsumerName = "survivor" });
        var dying = await JobQueues.OpenAsync(url, options with { ConsumerName = "dying" });
        await dying.EnqueueAsync(Encoding.UTF8.GetBytes("slide"));
        var taken = await dying.TakeAsync();
        Assert.Equal(1, taken!.Attempt);
        await dying.DisposeAsync(); // never settled: its connection is gone

        IJobDelivery? redelivered = null;
        for (var i = 0; i < 100 && redelivered is null; i++)
        {
            redelivered = await survivor.TakeAsync();
            if (redelivered is null)
            {
                await Task.Delay(100);
            }
        }
        Assert.NotNull(redelivered);
        Assert.Equal("slide", Encoding.UTF8.GetString(redelivered.Body.Span));
        Assert.Equal(2, redelivered.Attempt);
        await redelivered.CompleteAsync();
        Assert.Null(await survivor.TakeAsync());
    }

    /// <summary>A worker alive and busy keeps its Redis entry: nobody claims it after the visibility timeout.</summary>
    [SkippableFact]
    public async Task AKeptAliveRedisJobIsNotClaimedByAnotherWorker()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "keepalive");
        var options = new QueueOptions { VisibilityTimeout = TimeSpan.FromMilliseconds(400) };
        await using var busy = await JobQueues.OpenAsync(url, options with { ConsumerName = "busy" });
        await using var other = await JobQueues.OpenAsync(url, options with { ConsumerName = "other" });
        await busy.EnqueueAsync(Encoding.UTF8.GetBytes("slide"));
        var taken = await busy.TakeAsync();
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(100);
            await taken!.KeepAliveAsync();
            Assert.Null(await other.TakeAsync());
        }
        await taken!.CompleteAsync();
    }

    /// <summary>
    /// A worker that stalled past the visibility timeout lost its entry to another: its next keep-alive says so and
    /// does not take the entry back, and its settling is a no-op; the worker that claimed it keeps and settles it.
    /// </summary>
    [SkippableFact]
    public async Task AStalledRedisWorkersKeepAliveDoesNotTakeTheJobBackFromItsNewOwner()
    {
        var url = Brokers.QueueUrl(Brokers.Redis, "stalled");
        var options = new QueueOptions { VisibilityTimeout = TimeSpan.FromMilliseconds(300) };
        await using var stalled = await JobQueues.OpenAsync(url, options with { ConsumerName = "stalled" });
        await using var claimer = await JobQueues.OpenAsync(url, options with { ConsumerName = "claimer" });
        await using var third = await JobQueues.OpenAsync(url, options with { ConsumerName = "third" });
        await stalled.EnqueueAsync(Encoding.UTF8.GetBytes("slide"));
        var first = await stalled.TakeAsync();
        Assert.NotNull(first);
        Assert.True(await first.KeepAliveAsync()); // still ours

        IJobDelivery? claimed = null;
        for (var i = 0; i < 100 && claimed is null; i++)
        {
            await Task.Delay(100);
            claimed = await claimer.TakeAsync();
        }
        Assert.NotNull(claimed);
        Assert.Equal(2, claimed.Attempt);

        Assert.False(await first.KeepAliveAsync()); // the stalled worker learns it lost the job...
        await first.CompleteAsync(); // ...and its settling leaves the claimer's entry alone
        var status = await claimer.StatusAsync();
        Assert.Equal(1, status.Running);
        Assert.Equal(0, status.Completed);

        // The claimer still owns it: kept alive, nobody else can claim it once the timeout has passed again.
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(100);
            Assert.True(await claimed.KeepAliveAsync());
            Assert.Null(await third.TakeAsync());
        }
        await claimed.CompleteAsync();
        status = await claimer.StatusAsync();
        Assert.Equal(new QueueStatus(0, 0, 1, 0, 0), status);
    }

    /// <summary>
    /// Azure and SQS: a stalled worker's keep-alive (its pop receipt / receipt handle is stale once another worker
    /// received the message) says the job is no longer its own.
    /// </summary>
    [SkippableTheory]
    [InlineData(Brokers.AzureQueue)]
    [InlineData(Brokers.Sqs)]
    [InlineData(Brokers.PubSub)]
    public async Task AStalledWorkersKeepAliveSaysTheJobIsNoLongerItsOwn(string broker)
    {
        var url = Brokers.QueueUrl(broker, "stalled");
        var options = Brokers.Options(broker) with { VisibilityTimeout = TimeSpan.FromSeconds(1) };
        await using var stalled = await JobQueues.OpenAsync(url, options);
        await using var claimer = await JobQueues.OpenAsync(url, options);
        await stalled.EnqueueAsync(Encoding.UTF8.GetBytes("slide"));
        var first = await stalled.TakeAsync();
        Assert.NotNull(first);
        Assert.True(await first.KeepAliveAsync());

        IJobDelivery? claimed = null;
        for (var i = 0; i < 100 && claimed is null; i++)
        {
            await Task.Delay(200);
            claimed = await claimer.TakeAsync();
        }
        Assert.NotNull(claimed);
        Assert.False(await first.KeepAliveAsync());
        Assert.True(await claimed.KeepAliveAsync());
        await claimed.CompleteAsync();
        Assert.Null(await claimer.TakeAsync());
    }

    /// <summary>
    /// A subscription made elsewhere, without exactly-once delivery or a dead-letter policy: Pub/Sub accepts a stale
    /// ack id silently there, so the stalled worker's keep-alive must see from its own clock that its deadline passed;
    /// connecting warns that crash redeliveries are not counted.
    /// </summary>
    [Fact]
    public async Task OnAPlainPubSubSubscriptionAStalledWorkerStillLearnsItLostTheJob()
    {
        var url = Brokers.QueueUrl(Brokers.PubSub, "plain");
        var (project, subscription, topic) = PubSubQueue.Parts(JobQueues.Parse(url));
        var options = Brokers.Options(Brokers.PubSub) with { VisibilityTimeout = TimeSpan.FromSeconds(1) };
        using (var http = new HttpClient { BaseAddress = new Uri($"http://{options.PubSubEmulatorHost}/v1/") })
        {
            (await http.PutAsync($"projects/{project}/topics/{topic}", new StringContent("{}"))).EnsureSuccessStatusCode();
            var body = $"{{\"topic\":\"projects/{project}/topics/{topic}\",\"ackDeadlineSeconds\":10}}";
            (await http.PutAsync($"projects/{project}/subscriptions/{subscription}", new StringContent(body))).EnsureSuccessStatusCode();
        }
        var warnings = new List<string>();
        await using var stalled = await JobQueues.OpenAsync(url, options with { Warning = warnings.Add });
        await using var claimer = await JobQueues.OpenAsync(url, options);
        var warning = Assert.Single(warnings);
        Assert.Contains($"subscriptions/{subscription} has no dead-letter policy", warning);
        Assert.Contains("--max-attempts", warning);

        await stalled.EnqueueAsync(Encoding.UTF8.GetBytes("slide"));
        var first = await stalled.TakeAsync();
        Assert.NotNull(first);
        Assert.True(await first.KeepAliveAsync());
        IJobDelivery? claimed = null;
        for (var i = 0; i < 100 && claimed is null; i++)
        {
            await Task.Delay(200);
            claimed = await claimer.TakeAsync();
        }
        Assert.NotNull(claimed);
        Assert.False(await first.KeepAliveAsync());
        await claimed.CompleteAsync();
    }

    /// <summary>The subscription the queue creates has exactly-once delivery and a dead-letter policy (no warning).</summary>
    [Fact]
    public async Task APubSubSubscriptionIsCreatedWithExactlyOnceDelivery()
    {
        var url = Brokers.QueueUrl(Brokers.PubSub, "created");
        var (project, subscription, _) = PubSubQueue.Parts(JobQueues.Parse(url));
        var warnings = new List<string>();
        var options = Brokers.Options(Brokers.PubSub) with { Warning = warnings.Add };
        await using var q = await JobQueues.OpenAsync(url, options);
        Assert.Empty(warnings);
        using var http = new HttpClient();
        var created = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"http://{options.PubSubEmulatorHost}/v1/projects/{project}/subscriptions/{subscription}"))!;
        Assert.True(created["enableExactlyOnceDelivery"]?.GetValue<bool>());
        Assert.NotNull(created["deadLetterPolicy"]);
    }

    /// <summary>No SDK retries only while connecting (the connect pipeline retries); the working client keeps the SDK's.</summary>
    [SkippableFact]
    public async Task AnSqsQueueRetriesItsCallsAfterConnecting()
    {
        var url = Brokers.QueueUrl(Brokers.Sqs, "retries");
        await using var q = await JobQueues.OpenAsync(url, Brokers.Options(Brokers.Sqs));
        Assert.True(((SqsQueue)q).MaxErrorRetry > 0);
    }

    [Theory]
    [InlineData("sqs://eu-west-1/jobs.fifo", "FIFO queues are not supported")]
    [InlineData("sqs://EU_WEST/jobs", "is not an AWS region")]
    [InlineData("sqs://eu-west-1/", "is not an SQS queue name")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/jobs", "not an SQS queue URL")]
    [InlineData("https://example.com/jobs", "unknown scheme 'https'")]
    [InlineData("kafka://host/jobs", "unknown scheme 'kafka'")]
    [InlineData("gcppubsub://p/jobs", "not a Google Cloud project id")]
    [InlineData("gcppubsub://lab-project/goog-jobs", "not a Pub/Sub subscription name")]
    [InlineData("gcppubsub://lab-project/jobs?topic=1x", "not a Pub/Sub topic name")]
    [InlineData("gcppubsub://lab-project/jobs?queue=x", "unknown parameter 'queue'")]
    [InlineData("not a url", "is not a URL")]
    [InlineData("redis://h:6379/?queue=", "queue name")]
    [InlineData("redis://h:6379/?topic=x", "unknown parameter 'topic'")]
    public void BadQueueUrlsAreRefusedNamingWhatIsWrong(string url, string expected)
    {
        var ex = Assert.Throws<QueueConfigException>(() => JobQueues.Parse(url));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void AnSqsQueueUrlNamesItsRegionAndQueue()
    {
        var (region, queue, url) = SqsQueue.Parts(JobQueues.Parse("https://sqs.eu-west-1.amazonaws.com/123456789012/slide-jobs"));
        Assert.Equal(("eu-west-1", "slide-jobs", "https://sqs.eu-west-1.amazonaws.com/123456789012/slide-jobs"), (region, queue, url));
        Assert.Equal(("us-east-2", "jobs", null), SqsQueue.Parts(JobQueues.Parse("sqs://us-east-2/jobs")));
    }

    [Fact]
    public void APubSubUrlNamesItsProjectSubscriptionAndTopic()
    {
        Assert.Equal(("lab-project", "slide-jobs", "slide-jobs"), PubSubQueue.Parts(JobQueues.Parse("gcppubsub://lab-project/slide-jobs")));
        Assert.Equal(("lab-project", "workers", "slides"), PubSubQueue.Parts(JobQueues.Parse("gcppubsub://lab-project/workers?topic=slides")));
    }

    /// <summary>SQS bodies are XML characters: JSON goes as text, anything else (a malformed binary message) as base64, and comes back as it went.</summary>
    [Theory]
    [InlineData(new byte[] { 0x7B, 0x7D }, true)]
    [InlineData(new byte[] { 0xFF, 0xFE, 0x00 }, false)]
    [InlineData(new byte[] { 0x61, 0x01 }, false)]
    [InlineData(new byte[0], false)]
    public void SqsBodiesThatAreNotXmlTextAreEncoded(byte[] body, bool asText)
    {
        Assert.Equal(asText, SqsQueue.AsSqsText(body) is not null);
    }

    [Fact]
    public void TheUrlShownHidesThePassword()
    {
        Assert.DoesNotContain("secret", JobQueues.Redact(new Uri("amqp://user:secret@host/vhost")));
    }
}
