using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// A loopback stand-in for the parts of Google Cloud Pub/Sub's REST API (v1) the gcppubsub:// queue uses — topics
/// and subscriptions (get, create: 409 when they exist), publish (to every subscription of the topic), pull, acknowledge,
/// modifyAckDeadline — and the one Cloud Monitoring (v3) query it makes, num_undelivered_messages of a subscription
/// (here the exact count of unacknowledged messages, where the real metric lags a minute or two). No Pub/Sub
/// emulator installs from the registries this project reaches (Google's is Java, from the gcloud SDK). Semantics
/// modelled: a pulled message is outstanding until its ack deadline, then delivered again with a new ack id;
/// deliveryAttempt counts deliveries on a subscription with a dead-letter policy; an ack or deadline change with an
/// ack id that is no longer current does nothing, except that modifyAckDeadline answers 400 on a subscription with
/// exactly-once delivery (as Pub/Sub does for an expired ack id there; without it, Pub/Sub accepts it silently, and
/// so does this fake).
/// </summary>
public sealed partial class FakePubSubServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<string> _topics = [];
    private readonly Dictionary<string, Subscription> _subscriptions = [];
    private long _ids;

    public FakePubSubServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>The value for PUBSUB_EMULATOR_HOST.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }

    private sealed class Subscription(string topic, JsonObject? deadLetterPolicy, bool exactlyOnce)
    {
        public string Topic { get; } = topic;
        public JsonObject? DeadLetterPolicy { get; } = deadLetterPolicy;
        public bool ExactlyOnce { get; } = exactlyOnce;
        public List<Message> Messages { get; } = [];
    }

    private sealed class Message(string data, JsonObject? attributes)
    {
        public string Data { get; } = data;
        public JsonObject? Attributes { get; } = attributes;
        public string? AckId { get; set; }
        public DateTime Deadline { get; set; }
        public int Deliveries { get; set; }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        int status;
        JsonNode? reply;
        try
        {
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            var body = text.Length == 0 ? null : JsonNode.Parse(text);
            (status, reply) = Route(ctx.Request.HttpMethod, ctx.Request.Url!.AbsolutePath, ctx.Request.QueryString["filter"], body);
        }
        catch (Exception ex)
        {
            (status, reply) = (500, Error(ex.Message));
        }
        var bytes = Encoding.UTF8.GetBytes(reply?.ToJsonString() ?? "{}");
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.OutputStream.Write(bytes);
        ctx.Response.Close();
    }

    private static JsonObject Error(string message) => new() { ["error"] = new JsonObject { ["message"] = message } };

    private (int, JsonNode?) Route(string method, string path, string? filter, JsonNode? body)
    {
        lock (_gate)
        {
            if (path.StartsWith("/v3/", StringComparison.Ordinal))
            {
                var id = SubscriptionFilter().Match(filter ?? "");
                var project = path.Split('/')[3];
                if (!id.Success || !_subscriptions.TryGetValue($"projects/{project}/subscriptions/{id.Groups[1].Value}", out var watched))
                {
                    return (200, new JsonObject());
                }
                var point = new JsonObject { ["value"] = new JsonObject { ["int64Value"] = watched.Messages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
                return (200, new JsonObject { ["timeSeries"] = new JsonArray(new JsonObject { ["points"] = new JsonArray(point) }) });
            }
            var name = path["/v1/".Length..];
            var verb = "";
            if (name.LastIndexOf(':') is var colon and > 0)
            {
                verb = name[(colon + 1)..];
                name = name[..colon];
            }
            var isTopic = name.Contains("/topics/", StringComparison.Ordinal);
            switch (method, verb)
            {
                case ("GET", ""):
                    return isTopic ? (_topics.Contains(name) ? (200, new JsonObject { ["name"] = name }) : (404, Error("Resource not found")))
                        : _subscriptions.TryGetValue(name, out var found) ? (200, Describe(name, found)) : (404, Error("Resource not found"));
                case ("PUT", ""):
                    if (isTopic)
                    {
                        return _topics.Add(name) ? (200, new JsonObject { ["name"] = name }) : (409, Error("Resource already exists in the project"));
                    }
                    var topic = body?["topic"]?.GetValue<string>() ?? "";
                    if (!_topics.Contains(topic))
                    {
                        return (404, Error("Resource not found (resource=" + topic + ")"));
                    }
                    if (_subscriptions.ContainsKey(name))
                    {
                        return (409, Error("Resource already exists in the project"));
                    }
                    var created = new Subscription(topic, body?["deadLetterPolicy"]?.DeepClone() as JsonObject, body?["enableExactlyOnceDelivery"]?.GetValue<bool>() == true);
                    _subscriptions[name] = created;
                    return (200, Describe(name, created));
                case ("POST", "publish"):
                    if (!_topics.Contains(name))
                    {
                        return (404, Error("Resource not found"));
                    }
                    var ids = new JsonArray();
                    foreach (var m in body!["messages"]!.AsArray())
                    {
                        foreach (var s in _subscriptions.Values.Where(s => s.Topic == name))
                        {
                            s.Messages.Add(new Message(m!["data"]!.GetValue<string>(), m["attributes"]?.DeepClone().AsObject()));
                        }
                        ids.Add(Interlocked.Increment(ref _ids).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                    return (200, new JsonObject { ["messageIds"] = ids });
            }
            if (!_subscriptions.TryGetValue(name, out var sub))
            {
                return (404, Error("Resource not found"));
            }
            var now = DateTime.UtcNow;
            switch (verb)
            {
                case "pull":
                    var max = body?["maxMessages"]?.GetValue<int>() ?? 1;
                    var received = new JsonArray();
                    foreach (var m in sub.Messages.Where(m => m.AckId is null || m.Deadline <= now).Take(max))
                    {
                        m.Deliveries++;
                        m.AckId = $"ack-{Interlocked.Increment(ref _ids)}";
                        m.Deadline = now.AddSeconds(10);
                        var message = new JsonObject { ["data"] = m.Data, ["messageId"] = m.AckId };
                        if (m.Attributes is not null)
                        {
                            message["attributes"] = m.Attributes.DeepClone();
                        }
                        var r = new JsonObject { ["ackId"] = m.AckId, ["message"] = message };
                        if (sub.DeadLetterPolicy is not null)
                        {
                            r["deliveryAttempt"] = m.Deliveries;
                        }
                        received.Add(r);
                    }
                    return (200, received.Count == 0 ? new JsonObject() : new JsonObject { ["receivedMessages"] = received });
                case "acknowledge":
                    foreach (var ack in body!["ackIds"]!.AsArray().Select(a => a!.GetValue<string>()))
                    {
                        sub.Messages.RemoveAll(m => m.AckId == ack);
                    }
                    return (200, new JsonObject());
                case "modifyAckDeadline":
                    var seconds = body!["ackDeadlineSeconds"]!.GetValue<int>();
                    foreach (var ack in body["ackIds"]!.AsArray().Select(a => a!.GetValue<string>()))
                    {
                        var m = sub.Messages.FirstOrDefault(m => m.AckId == ack && m.Deadline > now);
                        if (m is null && sub.ExactlyOnce)
                        {
                            return (400, Error($"Some acknowledgement ids in the request were invalid: {ack}"));
                        }
                        m?.Deadline = now.AddSeconds(seconds);
                    }
                    return (200, new JsonObject());
                default:
                    return (404, Error($"unknown method {method} {path}"));
            }
        }
    }

    private static JsonObject Describe(string name, Subscription s)
    {
        var o = new JsonObject { ["name"] = name, ["topic"] = s.Topic };
        if (s.DeadLetterPolicy is not null)
        {
            o["deadLetterPolicy"] = s.DeadLetterPolicy.DeepClone();
        }
        if (s.ExactlyOnce)
        {
            o["enableExactlyOnceDelivery"] = true;
        }
        return o;
    }

    [GeneratedRegex("resource\\.labels\\.subscription_id = \"([^\"]+)\"")]
    private static partial Regex SubscriptionFilter();
}
