using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;

namespace Histoscale.Workers.Brokers;

/// <summary>
/// Jobs on Google Cloud Pub/Sub through its REST API (v1; NuGet serves no Pub/Sub client library here):
/// <c>gcppubsub://PROJECT/SUBSCRIPTION[?topic=TOPIC]</c>, the topic named as the subscription unless given. A
/// pulled message is outstanding for the visibility timeout (its ack deadline, set with ModifyAckDeadline after the
/// pull and extended by the keep-alive); a dead worker's message is redelivered when the deadline passes and Pub/Sub
/// counts the delivery (<c>deliveryAttempt</c>, reported when the subscription has a dead-letter policy: the one
/// this class creates does, to SUBSCRIPTION-dead with 100 attempts, a safety net above any --max-attempts; on an
/// existing subscription without one, connecting warns through <see cref="QueueOptions.Warning"/>). The subscription
/// is created with exactly-once delivery, so that an expired ack id is refused (400) and a stalled worker's
/// keep-alive learns it lost the job; on a subscription without it Pub/Sub accepts an expired ack id silently, so the
/// keep-alive also tracks the deadline itself: once more than the ack deadline has passed since its last successful
/// extension, the job is reported lost whatever Pub/Sub answers. Pulls wait for a message for up to
/// <see cref="PullWait"/> (no deprecated <c>returnImmediately</c>, which may answer "none" while messages wait). A retried
/// or returned message is published again with the attribute <c>histoscale-attempts</c> (the attempts it has used)
/// and the delivery acknowledged, so a return does not count. Dead letters are published to the topic
/// SUBSCRIPTION-dead (subscription SUBSCRIPTION-dead) with <c>histoscale-error</c> and <c>histoscale-attempts</c>.
/// Pub/Sub has no backlog call: status reads Cloud Monitoring's
/// <c>pubsub.googleapis.com/subscription/num_undelivered_messages</c> (what KEDA's gcp-pubsub scaler reads; it lags
/// a minute or two), which counts outstanding messages too, so pending includes running (running null).
/// </summary>
internal sealed class PubSubQueue : IJobQueue
{
    private const string AttemptsAttribute = "histoscale-attempts";
    private const string ErrorAttribute = "histoscale-error";

    /// <summary>How long one pull waits for a message before TakeAsync answers "none now".</summary>
    internal static readonly TimeSpan PullWait = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http;
    private readonly string _pubsub;
    private readonly string _monitoring;
    private readonly ICredential? _credential;
    private readonly string _project;
    private readonly string _topic;
    private readonly string _subscription;
    private readonly int _visibilitySeconds;

    private PubSubQueue(HttpClient http, string pubsub, string monitoring, ICredential? credential, string project, string topic, string subscription, string name, int visibilitySeconds)
    {
        _http = http;
        _pubsub = pubsub;
        _monitoring = monitoring;
        _credential = credential;
        _project = project;
        _topic = topic;
        _subscription = subscription;
        Name = name;
        _visibilitySeconds = visibilitySeconds;
    }

    public string Name { get; }

    private string DeadName => _subscription + "-dead";

    /// <summary>Project, subscription and topic of <c>gcppubsub://PROJECT/SUBSCRIPTION[?topic=TOPIC]</c>.</summary>
    internal static (string Project, string Subscription, string Topic) Parts(Uri uri)
    {
        var project = uri.Host;
        if (project.Length is < 6 or > 30 || !char.IsAsciiLetterLower(project[0]) || !project.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            throw new QueueConfigException($"queue URL '{uri}': '{project}' is not a Google Cloud project id for gcppubsub://PROJECT/SUBSCRIPTION (6-30 lowercase letters, digits, hyphens)");
        }
        var subscription = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        CheckName(uri, subscription, "subscription", suffix: true);
        var topic = subscription;
        foreach (var part in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv[0] != "topic")
            {
                throw new QueueConfigException($"queue URL '{uri}': unknown parameter '{kv[0]}' (only topic=NAME)");
            }
            topic = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            CheckName(uri, topic, "topic", suffix: false);
        }
        return (project, subscription, topic);
    }

    private static void CheckName(Uri uri, string name, string what, bool suffix)
    {
        var max = suffix ? 250 : 255; // '-dead' is appended to the subscription for dead letters
        if (name.Length < 3 || name.Length > max || !char.IsAsciiLetter(name[0]) || name.StartsWith("goog", StringComparison.OrdinalIgnoreCase)
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '+' or '%'))
        {
            throw new QueueConfigException($"queue URL '{uri}': '{name}' is not a Pub/Sub {what} name (3-{max} characters: a letter, then letters, digits, - _ . ~ + %; not starting with 'goog')");
        }
    }

    public static async Task<PubSubQueue> ConnectAsync(Uri uri, string name, QueueOptions options, CancellationToken cancellationToken)
    {
        var (project, subscription, topic) = Parts(uri);
        string pubsub, monitoring;
        ICredential? credential = null;
        if (options.PubSubEmulatorHost is { Length: > 0 } host)
        {
            // The emulator convention (PUBSUB_EMULATOR_HOST=HOST:PORT): plain http, no credentials.
            var root = host.Contains("://", StringComparison.Ordinal) ? host.TrimEnd('/') : "http://" + host.TrimEnd('/');
            pubsub = root + "/v1/";
            monitoring = root + "/v3/";
        }
        else
        {
            pubsub = "https://pubsub.googleapis.com/v1/";
            monitoring = "https://monitoring.googleapis.com/v3/";
            var adc = await GoogleCredential.GetApplicationDefaultAsync(cancellationToken).ConfigureAwait(false);
            credential = adc.CreateScoped("https://www.googleapis.com/auth/pubsub", "https://www.googleapis.com/auth/monitoring.read");
        }
        var visibility = (int)Math.Clamp(Math.Ceiling(options.VisibilityTimeout.TotalSeconds), 1, 600);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var q = new PubSubQueue(http, pubsub, monitoring, credential, project, topic, subscription, name, visibility);
        try
        {
            await q.EnsureAsync(cancellationToken).ConfigureAwait(false);
            if (await q.DeadLetterWarningAsync(cancellationToken).ConfigureAwait(false) is { } warning)
            {
                options.Warning?.Invoke(warning);
            }
            return q;
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Creates what is missing: the topics, the subscription (with its dead-letter policy) and the dead letters' subscription.</summary>
    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (await SendAsync(HttpMethod.Get, $"projects/{_project}/subscriptions/{_subscription}", null, cancellationToken, allow: HttpStatusCode.NotFound).ConfigureAwait(false) is null)
        {
            await CreateAsync($"projects/{_project}/topics/{_topic}", new JsonObject(), cancellationToken).ConfigureAwait(false);
            await CreateAsync($"projects/{_project}/topics/{DeadName}", new JsonObject(), cancellationToken).ConfigureAwait(false);
            await CreateAsync($"projects/{_project}/subscriptions/{_subscription}", new JsonObject
            {
                ["topic"] = $"projects/{_project}/topics/{_topic}",
                ["ackDeadlineSeconds"] = Math.Clamp(_visibilitySeconds, 10, 600),
                ["deadLetterPolicy"] = new JsonObject { ["deadLetterTopic"] = $"projects/{_project}/topics/{DeadName}", ["maxDeliveryAttempts"] = 100 },
                // An expired ack id is then refused, so a stalled worker's keep-alive learns it lost the job.
                ["enableExactlyOnceDelivery"] = true,
            }, cancellationToken).ConfigureAwait(false);
        }
        if (await SendAsync(HttpMethod.Get, $"projects/{_project}/subscriptions/{DeadName}", null, cancellationToken, allow: HttpStatusCode.NotFound).ConfigureAwait(false) is null)
        {
            await CreateAsync($"projects/{_project}/topics/{DeadName}", new JsonObject(), cancellationToken).ConfigureAwait(false);
            await CreateAsync($"projects/{_project}/subscriptions/{DeadName}", new JsonObject { ["topic"] = $"projects/{_project}/topics/{DeadName}", ["ackDeadlineSeconds"] = 60 }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A warning when the subscription has no dead-letter policy (Pub/Sub then reports no deliveryAttempt), else null.</summary>
    private async Task<string?> DeadLetterWarningAsync(CancellationToken cancellationToken)
    {
        var subscription = await SendAsync(HttpMethod.Get, $"projects/{_project}/subscriptions/{_subscription}", null, cancellationToken).ConfigureAwait(false);
        return subscription?["deadLetterPolicy"] is JsonObject
            ? null
            : $"warning: Pub/Sub subscription projects/{_project}/subscriptions/{_subscription} has no dead-letter policy, so Pub/Sub does not count deliveries: "
              + "a job whose worker crashes or is killed is delivered again without its attempt growing, and --max-attempts cannot stop it looping "
              + $"(failures the worker catches are still counted); add a dead-letter policy (e.g. to topic {DeadName}) or let the worker create the subscription";
    }

    private Task CreateAsync(string path, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, path, body, cancellationToken, allow: HttpStatusCode.Conflict); // already there: another worker made it

    public Task EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        PublishAsync(_topic, message, [], cancellationToken);

    public async Task<IJobDelivery?> TakeAsync(CancellationToken cancellationToken = default)
    {
        var message = (await PullAsync(_subscription, 1, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (message is null)
        {
            return null;
        }
        // The subscription may have been made with another ack deadline: this worker's visibility timeout applies.
        var extended = Environment.TickCount64;
        await ModifyAckDeadlineAsync(_subscription, message.AckId, _visibilitySeconds, cancellationToken).ConfigureAwait(false);
        return new Delivery(this, message, extended);
    }

    public async Task<QueueStatus> StatusAsync(CancellationToken cancellationToken = default)
    {
        var pending = await UndeliveredAsync(_subscription, cancellationToken).ConfigureAwait(false);
        var dead = await UndeliveredAsync(DeadName, cancellationToken).ConfigureAwait(false);
        return new QueueStatus(pending, null, null, null, dead);
    }

    public async Task<int> RetryDeadAsync(CancellationToken cancellationToken = default)
    {
        var moved = 0;
        while (true)
        {
            var batch = await PullAsync(DeadName, 10, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return moved;
            }
            foreach (var m in batch)
            {
                await PublishAsync(_topic, m.Data, [], cancellationToken).ConfigureAwait(false);
                await AcknowledgeAsync(DeadName, m.AckId, cancellationToken).ConfigureAwait(false);
                moved++;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed record Pulled(string AckId, byte[] Data, Dictionary<string, string> Attributes, int? DeliveryAttempt);

    private async Task<List<Pulled>> PullAsync(string subscription, int max, CancellationToken cancellationToken)
    {
        // A normal pull (Pub/Sub answers once messages are there, or with none after a while), cut off after
        // PullWait so that TakeAsync answers "none now" in time. (returnImmediately is deprecated: it may answer
        // none while messages wait, and an --idle-exit worker would exit with work left.)
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(PullWait);
        JsonNode? response;
        try
        {
            response = await SendAsync(HttpMethod.Post, $"projects/{_project}/subscriptions/{subscription}:pull",
                new JsonObject { ["maxMessages"] = max }, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return [];
        }
        var list = new List<Pulled>();
        if (response?["receivedMessages"] is not JsonArray received)
        {
            return list;
        }
        foreach (var r in received)
        {
            var message = r?["message"];
            var attributes = new Dictionary<string, string>();
            if (message?["attributes"] is JsonObject a)
            {
                foreach (var (k, v) in a)
                {
                    attributes[k] = v?.GetValue<string>() ?? "";
                }
            }
            var data = message?["data"]?.GetValue<string>() is { } b64 ? Convert.FromBase64String(b64) : [];
            int? attempt = r?["deliveryAttempt"] is { } d ? d.GetValue<int>() : null;
            list.Add(new Pulled(r!["ackId"]!.GetValue<string>(), data, attributes, attempt));
        }
        return list;
    }

    private Task PublishAsync(string topic, ReadOnlyMemory<byte> data, Dictionary<string, string> attributes, CancellationToken cancellationToken)
    {
        var message = new JsonObject { ["data"] = Convert.ToBase64String(data.Span) };
        if (attributes.Count > 0)
        {
            var a = new JsonObject();
            foreach (var (k, v) in attributes)
            {
                a[k] = v;
            }
            message["attributes"] = a;
        }
        return SendAsync(HttpMethod.Post, $"projects/{_project}/topics/{topic}:publish", new JsonObject { ["messages"] = new JsonArray(message) }, cancellationToken);
    }

    private Task AcknowledgeAsync(string subscription, string ackId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"projects/{_project}/subscriptions/{subscription}:acknowledge", new JsonObject { ["ackIds"] = new JsonArray(ackId) }, cancellationToken);

    private Task ModifyAckDeadlineAsync(string subscription, string ackId, int seconds, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"projects/{_project}/subscriptions/{subscription}:modifyAckDeadline",
            new JsonObject { ["ackIds"] = new JsonArray(ackId), ["ackDeadlineSeconds"] = seconds }, cancellationToken);

    /// <summary>Cloud Monitoring's latest num_undelivered_messages of a subscription (0 when it has no point yet).</summary>
    private async Task<long> UndeliveredAsync(string subscription, CancellationToken cancellationToken)
    {
        var end = DateTimeOffset.UtcNow;
        var filter = $"metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.labels.subscription_id = \"{subscription}\"";
        var query = $"projects/{_project}/timeSeries?filter={Uri.EscapeDataString(filter)}"
            + $"&interval.startTime={Uri.EscapeDataString(end.AddMinutes(-10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))}"
            + $"&interval.endTime={Uri.EscapeDataString(end.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))}";
        var response = await SendAsync(HttpMethod.Get, _monitoring + query, null, cancellationToken).ConfigureAwait(false);
        // Points come newest first.
        var value = response?["timeSeries"]?[0]?["points"]?[0]?["value"]?["int64Value"];
        return value is null ? 0 : long.Parse(value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken, HttpStatusCode? allow = null)
    {
        var url = path.StartsWith("http", StringComparison.Ordinal) ? path : _pubsub + path;
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        if (_credential is not null)
        {
            var token = await ((ITokenAccess)_credential).GetAccessTokenForRequestAsync(url, cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (allow is { } a && response.StatusCode == a)
        {
            return null;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new PubSubException(response.StatusCode, $"Pub/Sub {method} {url.Split('?')[0]}: {(int)response.StatusCode} {Message(text)}");
        }
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static string Message(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["error"]?["message"]?.GetValue<string>() ?? body.Trim();
        }
        catch (JsonException)
        {
            return body.Trim();
        }
    }

    internal sealed class PubSubException(HttpStatusCode status, string message) : Exception(message)
    {
        public HttpStatusCode Status { get; } = status;
    }

    private sealed class Delivery(PubSubQueue q, Pulled message, long extended) : IJobDelivery
    {
        private readonly int _used = message.Attributes.TryGetValue(AttemptsAttribute, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

        public ReadOnlyMemory<byte> Body { get; } = message.Data;

        public int Attempt => _used + (message.DeliveryAttempt ?? 1);

        public Task CompleteAsync(CancellationToken cancellationToken = default) => q.AcknowledgeAsync(q._subscription, message.AckId, cancellationToken);

        public Task RetryAsync(string error, CancellationToken cancellationToken = default) => Republish(Attempt, cancellationToken);

        public async Task DeadLetterAsync(string error, CancellationToken cancellationToken = default)
        {
            await q.PublishAsync(q.DeadName, Body, new()
            {
                [ErrorAttribute] = error.Length <= 1000 ? error : error[..1000],
                [AttemptsAttribute] = Attempt.ToString(CultureInfo.InvariantCulture),
            }, cancellationToken).ConfigureAwait(false);
            await CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task ReturnAsync(CancellationToken cancellationToken = default) => Republish(Attempt - 1, cancellationToken);

        // When the ack deadline was last set (measured from before the request, so the local deadline is never late).
        private long _extended = extended;

        public async Task<bool> KeepAliveAsync(CancellationToken cancellationToken = default)
        {
            // Past the deadline Pub/Sub may have given the message to another worker; without exactly-once delivery
            // it accepts the expired ack id silently, so this worker's own clock decides.
            var now = Environment.TickCount64;
            if (now - Interlocked.Read(ref _extended) > q._visibilitySeconds * 1000L)
            {
                return false;
            }
            try
            {
                await q.ModifyAckDeadlineAsync(q._subscription, message.AckId, q._visibilitySeconds, cancellationToken).ConfigureAwait(false);
                Interlocked.Exchange(ref _extended, now);
                return true;
            }
            catch (PubSubException ex) when (ex.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound)
            {
                // An ack id no longer valid (the message was delivered again): no longer ours.
                return false;
            }
        }

        /// <summary>A new copy carrying the attempts used so far (a redelivery of it starts its own count at 1), then this delivery acknowledged.</summary>
        private async Task Republish(int used, CancellationToken cancellationToken)
        {
            await q.PublishAsync(q._topic, Body, new() { [AttemptsAttribute] = used.ToString(CultureInfo.InvariantCulture) }, cancellationToken).ConfigureAwait(false);
            await CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
