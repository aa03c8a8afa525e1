using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// The real brokers the worker tests run against: Redis and RabbitMQ started on loopback by .ci/brokers.sh (which
/// .ci/run calls; it writes .ci/brokers.env), or given by HISTOSCALE_TEST_REDIS / HISTOSCALE_TEST_AMQP. A test
/// skips, saying how to start them, when one is not answering.
/// </summary>
internal static class Brokers
{
    public const string Redis = "redis";
    public const string RabbitMq = "amqp";
    public const string AzureQueue = "azqueue";
    public const string Sqs = "sqs";
    public const string PubSub = "gcppubsub";

    /// <summary>The loopback Pub/Sub fake, one for the test process (no Pub/Sub emulator installs here).</summary>
    private static readonly Lazy<FakePubSubServer> PubSubFake = new(() => new FakePubSubServer());

    /// <summary>fauxqs, the SQS emulator .ci/sqs.sh starts (it writes .ci/sqs.env), or HISTOSCALE_TEST_SQS_ENDPOINT.</summary>
    public static string? SqsEndpoint =>
        Environment.GetEnvironmentVariable("HISTOSCALE_TEST_SQS_ENDPOINT") is { Length: > 0 } v ? v : SqsFile.Value.GetValueOrDefault("HISTOSCALE_TEST_SQS_ENDPOINT");

    /// <summary>
    /// What a histoscale process needs to reach the test broker the way a deployment reaches the real one: the
    /// credentials and endpoint through the usual variables (none for Redis and RabbitMQ, whose URL carries them).
    /// </summary>
    public static Dictionary<string, string>? ProcessEnvironment(string broker) => broker switch
    {
        AzureQueue => new() { ["AZURE_STORAGE_CONNECTION_STRING"] = AzureConnectionString! },
        Sqs => new()
        {
            ["AWS_ENDPOINT_URL_SQS"] = SqsEndpoint!,
            ["AWS_ACCESS_KEY_ID"] = SqsFile.Value.GetValueOrDefault("HISTOSCALE_TEST_SQS_ACCESS_KEY", "fauxqs"),
            ["AWS_SECRET_ACCESS_KEY"] = SqsFile.Value.GetValueOrDefault("HISTOSCALE_TEST_SQS_SECRET_KEY", "fauxqs"),
        },
        PubSub => new() { ["PUBSUB_EMULATOR_HOST"] = PubSubFake.Value.Host },
        _ => null,
    };

    /// <summary>Azurite's queue service (.ci/emulators.sh starts it and writes .ci/emulators.env).</summary>
    public static string? AzureConnectionString =>
        Environment.GetEnvironmentVariable("HISTOSCALE_AZURE_QUEUE_CONNECTION_STRING") is { Length: > 0 } v ? v : EmulatorsFile.Value.GetValueOrDefault("HISTOSCALE_AZURE_QUEUE_CONNECTION_STRING");

    /// <summary>Azurite's blob service (.ci/emulators.sh, HISTOSCALE_AZURE_CONNECTION_STRING in .ci/emulators.env), or null when not started.</summary>
    public static string? AzureBlobConnectionString =>
        Environment.GetEnvironmentVariable("HISTOSCALE_AZURE_CONNECTION_STRING") is { Length: > 0 } v ? v : EmulatorsFile.Value.GetValueOrDefault("HISTOSCALE_AZURE_CONNECTION_STRING");

    /// <summary>s3rver (.ci/emulators.sh): endpoint and its published development keys, or null when not started.</summary>
    public static (string Endpoint, string AccessKey, string SecretKey)? S3Emulator =>
        EmulatorsFile.Value.TryGetValue("HISTOSCALE_S3_ENDPOINT", out var e)
            ? (e, EmulatorsFile.Value.GetValueOrDefault("HISTOSCALE_S3_ACCESS_KEY", "S3RVER"), EmulatorsFile.Value.GetValueOrDefault("HISTOSCALE_S3_SECRET_KEY", "S3RVER"))
            : null;

    /// <summary>Queue options that reach the test brokers (the Azurite connection string for azqueue://).</summary>
    public static Histoscale.Workers.Brokers.QueueOptions Options(string broker) => new()
    {
        AzureConnectionString = broker == AzureQueue ? AzureConnectionString : null,
        SqsServiceUrl = broker == Sqs ? SqsEndpoint : null,
        PubSubEmulatorHost = broker == PubSub ? PubSubFake.Value.Host : null,
    };

    private static readonly Lazy<Dictionary<string, string>> EnvFile = new(() => ReadEnvFile("brokers.env"));
    private static readonly Lazy<Dictionary<string, string>> EmulatorsFile = new(() => ReadEnvFile("emulators.env"));
    private static readonly Lazy<Dictionary<string, string>> SqsFile = new(() => ReadEnvFile("sqs.env"));

    /// <summary>A URL for a queue of its own (unique name) on the broker, or a skip.</summary>
    public static string QueueUrl(string broker, string name)
    {
        if (broker == AzureQueue)
        {
            var cs = AzureConnectionString;
            Skip.If(cs is null, "azqueue tests skipped: no HISTOSCALE_AZURE_QUEUE_CONNECTION_STRING and no .ci/emulators.env (run `bash .ci/emulators.sh start`; CI's .ci/run does)");
            var endpoint = new Uri(cs!.Split(';').First(p => p.StartsWith("QueueEndpoint=", StringComparison.Ordinal))["QueueEndpoint=".Length..]);
            Skip.IfNot(Answers(endpoint.Host, endpoint.Port), $"azqueue tests skipped: nothing answers at {endpoint.Host}:{endpoint.Port} (Azurite's queue service; run `bash .ci/emulators.sh start`)");
            return $"azqueue://devstoreaccount1/{name}-{Guid.NewGuid():N}";
        }
        if (broker == PubSub)
        {
            // The in-process CLI runs (submit, queue status) find the fake the way a deployment finds an emulator.
            Environment.SetEnvironmentVariable("PUBSUB_EMULATOR_HOST", PubSubFake.Value.Host);
            return $"gcppubsub://histoscale-test/{name}-{Guid.NewGuid():N}";
        }
        if (broker == Sqs)
        {
            var endpoint = SqsEndpoint;
            Skip.If(endpoint is null, "sqs tests skipped: no HISTOSCALE_TEST_SQS_ENDPOINT and no .ci/sqs.env (run `bash .ci/sqs.sh start`; CI's .ci/run does)");
            var e = new Uri(endpoint!);
            Skip.IfNot(Answers(e.Host, e.Port), $"sqs tests skipped: nothing answers at {e.Host}:{e.Port} (the fauxqs SQS emulator; run `bash .ci/sqs.sh start`)");
            // The SDK's credential chain reads the usual variables, in this process as in a deployed one; fauxqs
            // accepts any keys. The in-process CLI runs (submit, queue status) find the endpoint the same way.
            foreach (var (key2, value) in ProcessEnvironment(Sqs)!)
            {
                Environment.SetEnvironmentVariable(key2, value);
            }
            return $"sqs://us-east-1/{name}-{Guid.NewGuid():N}";
        }
        var key = broker == Redis ? "HISTOSCALE_TEST_REDIS" : "HISTOSCALE_TEST_AMQP";
        var url = Environment.GetEnvironmentVariable(key) is { Length: > 0 } v ? v : EnvFile.Value.GetValueOrDefault(key);
        Skip.If(url is null, $"{broker} tests skipped: no {key} and no .ci/brokers.env (run `bash .ci/brokers.sh start`; CI's .ci/run does)");
        var uri = new Uri(url!);
        Skip.IfNot(Answers(uri.Host, uri.Port), $"{broker} tests skipped: nothing answers at {uri.Host}:{uri.Port} ({key}); run `bash .ci/brokers.sh start`");
        return $"{url!.TrimEnd('/')}/?queue={name}-{Guid.NewGuid():N}";
    }

    /// <summary>
    /// Closes every client connection of the test RabbitMQ node from the server side (rabbitmqctl
    /// close_all_connections), as a broker restart or a network loss would; skips when the node or rabbitmqctl is unknown.
    /// </summary>
    public static void CloseAllRabbitMqConnections()
    {
        var node = Environment.GetEnvironmentVariable("HISTOSCALE_TEST_AMQP_NODE") is { Length: > 0 } v ? v : EnvFile.Value.GetValueOrDefault("HISTOSCALE_TEST_AMQP_NODE");
        Skip.If(node is null, "no HISTOSCALE_TEST_AMQP_NODE and no node in .ci/brokers.env (run `bash .ci/brokers.sh start`)");
        var ctl = File.Exists("/usr/lib/rabbitmq/bin/rabbitmqctl") ? "/usr/lib/rabbitmq/bin/rabbitmqctl" : "rabbitmqctl";
        var psi = new ProcessStartInfo(ctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-n", node!, "close_all_connections", "histoscale test: connection closed by the server" })
        {
            psi.ArgumentList.Add(a);
        }
        Process? started = null;
        try
        {
            started = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Skip.If(true, $"rabbitmqctl not runnable ({ex.Message})");
        }
        using var p = started ?? throw new InvalidOperationException("rabbitmqctl did not start");
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"rabbitmqctl close_all_connections failed: {stderr.Result}");
    }

    private static bool Answers(string host, int port)
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(2)) && client.Connected;
        }
        catch (Exception ex) when (ex is SocketException or AggregateException)
        {
            return false;
        }
    }

    private static Dictionary<string, string> ReadEnvFile(string name)
    {
        var values = new Dictionary<string, string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, ".ci", name);
            if (!File.Exists(file))
            {
                continue;
            }
            foreach (var line in File.ReadAllLines(file))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
                }
            }
            break;
        }
        return values;
    }
}

/// <summary>A <c>histoscale</c> process (the CLI built next to the tests), its stderr collected line by line.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _err = new();
    private readonly StringBuilder _out = new();

    public CliProcess(params string[] args)
        : this(null, args)
    {
    }

    public CliProcess(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "histoscale.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        _process = new Process { StartInfo = start };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_err)
                {
                    _err.AppendLine(e.Data);
                }
            }
        };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_out)
                {
                    _out.AppendLine(e.Data);
                }
            }
        };
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Id => _process.Id;

    public string Stderr
    {
        get
        {
            lock (_err)
            {
                return _err.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the exit; fails the test with the process's log when it takes longer than a generous limit.</summary>
    public async Task<int> ExitCodeAsync(int limitSeconds = 180)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(limitSeconds));
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"histoscale did not exit within {limitSeconds} s; its log:\n{Stderr}");
        }
        _process.WaitForExit(); // drain the redirected streams
        return _process.ExitCode;
    }

    /// <summary>kill -9: the process dies without running any handler.</summary>
    public void KillHard() => _process.Kill();

    /// <summary>SIGTERM, as Kubernetes sends before stopping a container.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Polls (test plumbing, not a timed assertion) until <paramref name="condition"/> holds or the process exits.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, int limitSeconds = 120)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < limitSeconds)
        {
            if (condition())
            {
                return true;
            }
            if (_process.HasExited)
            {
                return condition();
            }
            await Task.Delay(20);
        }
        return false;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
