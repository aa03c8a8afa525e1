using Histoscale.Cli;
using Histoscale.Cli.Commands;
using Histoscale.Inference.Config;
using Histoscale.Inference.OnnxRuntime;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>The <c>serve</c> verb's safety flags: malformed values exit 2 naming the flag; the start banner says what runs where.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "histoscale-server-tests", Guid.NewGuid().ToString("N"));

    public ServeCommandTests()
    {
        Directory.CreateDirectory(_root);
        var plain = DemoModels.MeanIntensity(TensorDataType.UInt8, TestRepository.Tile, name: "plain");
        plain.Config.InstanceGroups.Clear();
        ModelRepositoryWriter.Write(_root, plain);
        var grouped = DemoModels.MeanIntensity(TensorDataType.UInt8, TestRepository.Tile, name: "grouped");
        grouped.Config.InstanceGroups.Clear();
        grouped.Config.InstanceGroups.Add(new InstanceGroupConfig { Count = 2, Kind = InstanceKind.Cpu });
        ModelRepositoryWriter.Write(_root, grouped);
    }

    public void Dispose() => TestRepository.Delete(_root);

    [Theory]
    [InlineData("--model-control-mode", "--model-control-mode sometimes")]
    [InlineData("--load-model", "--load-model plain")] // needs explicit mode, as in Triton
    [InlineData("--load-model", "--model-control-mode poll --load-model plain")]
    [InlineData("--load-model", "--model-control-mode explicit --load-model * --load-model plain")]
    [InlineData("--repository-poll-secs", "--model-control-mode poll --repository-poll-secs 0")]
    [InlineData("--repository-poll-secs", "--model-control-mode poll --repository-poll-secs soon")]
    [InlineData("--http-restricted-api", "--http-restricted-api model-repository")]
    [InlineData("--http-restricted-api", "--http-restricted-api model-repo:admin-key=x")]
    [InlineData("--http-restricted-api", "--http-restricted-api statistics:a=1 --http-restricted-api statistics:b=2")]
    [InlineData("--grpc-restricted-protocol", "--grpc-restricted-protocol inference:key")]
    [InlineData("--grpc-max-message-size", "--grpc-max-message-size 0")]
    [InlineData("--grpc-max-message-size", "--grpc-max-message-size 4294967296")]
    [InlineData("--grpc-max-message-size", "--grpc-max-message-size 64MB")]
    [InlineData("--host", "--host no-such-host.invalid")]
    [InlineData("--threads", "--threads 0")]
    [InlineData("--memory-budget", "--memory-budget lots")]
    [InlineData("--memory-budget", "--memory-budget 2X")]
    public async Task MalformedFlagsExitWith2NamingTheFlag(string flag, string arguments)
    {
        var root = new System.CommandLine.RootCommand { ServeCommand.Create() };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string[] args = ["serve", "--model-repository", _root, "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", .. arguments.Split(' ')];
        var run = CliRunner.RunAsync(root, args, stdout, stderr);
        // Every case fails before the server starts; a started server would never return.
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal(CliRunner.BadInput, await run);
        Assert.Contains(flag, stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(stdout.ToString());
    }

    [Fact]
    public void TritonStyleFlagSpellingsParse()
    {
        // --flag=value and Triton's upper-case modes; the poll interval is ignored outside poll mode, as in Triton.
        var root = new System.CommandLine.RootCommand { ServeCommand.Create() };
        var parse = root.Parse(["serve", "--model-repository", _root, "--model-control-mode=EXPLICIT", "--repository-poll-secs=0", "--load-model=*",
            "--http-restricted-api=model-repository,shared-memory:admin-key=a=b", "--grpc-restricted-protocol=model-repository:admin-key=a=b"]);
        Assert.Empty(parse.Errors);
        Assert.Equal(["model-repository,shared-memory:admin-key=a=b"], parse.GetValue<string[]>("--http-restricted-api")!);
        Assert.Equal("EXPLICIT", parse.GetValue<string>("--model-control-mode"));
    }

    [Fact]
    public async Task StartBannerShowsBindAddressModeRestrictionsAndTheCpuInstanceHint()
    {
        var options = new InferenceServerOptions
        {
            ModelRepository = _root,
            Host = "127.0.0.1",
            HttpPort = 0,
            GrpcPort = 0,
            MetricsPort = 0,
            HttpRestrictedApis = RestrictedApis.Parse(["model-repository,shared-memory:admin-key=x"]),
            // Two cores, whatever the test machine has: the config-less model gets one instance × 2 threads.
            Runtime = new OnnxRuntimeOptions { Cores = 2, AllowSpinning = false },
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        };
        await using var server = await InferenceServer.StartAsync(options);
        var lines = ServeCommand.StartupLines(server, options);

        Assert.Contains(lines, l => l.Contains($"HTTP    127.0.0.1:{server.HttpPort}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"gRPC    127.0.0.1:{server.GrpcPort}", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("every interface", StringComparison.Ordinal));
        Assert.Contains("  model control: none (load/unload requests refused)", lines);
        Assert.Contains("  HTTP restricted: shared-memory, model-repository (header 'admin-key')", lines);
        Assert.Contains("  memory budget: none (--memory-budget)", lines);
        Assert.Contains("  memory budget: 1536 MiB of queued + running requests (--memory-budget)",
            ServeCommand.StartupLines(server, options with { MemoryBudgetBytes = 1536L << 20 }));
        var hint = Assert.Single(lines, l => l.Contains("hint:", StringComparison.Ordinal));
        Assert.Contains("model 'plain' has no instance_group", hint, StringComparison.Ordinal);
        Assert.Contains("instance_group [ { count: 2, kind: KIND_CPU } ]", hint, StringComparison.Ordinal);

        var everywhere = ServeCommand.StartupLines(server, options with { Host = "0.0.0.0" });
        Assert.Contains(everywhere, l => l.StartsWith("  HTTP    0.0.0.0:", StringComparison.Ordinal) && l.EndsWith("(every interface)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("2G", 2L << 30)]
    [InlineData("512M", 512L << 20)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("64k", 64L << 10)]
    [InlineData("1048576", 1L << 20)]
    [InlineData("0", 0L)]
    [InlineData("none", 0L)]
    public void MemoryBudgetSizesParse(string text, long bytes) => Assert.Equal(bytes, ContainerMemory.ParseSize(text));

    [Fact]
    public void ContainerMemoryLimitComesFromCgroupV2OrV1()
    {
        var v2 = Directory.CreateDirectory(Path.Combine(_root, "cg2")).FullName;
        File.WriteAllText(Path.Combine(v2, "memory.max"), "4294967296\n");
        Assert.Equal(4L << 30, ContainerMemory.LimitBytes(v2));
        File.WriteAllText(Path.Combine(v2, "memory.max"), "max\n");
        Assert.Null(ContainerMemory.LimitBytes(v2));

        var v1 = Directory.CreateDirectory(Path.Combine(_root, "cg1", "memory")).Parent!.FullName;
        File.WriteAllText(Path.Combine(v1, "memory", "memory.limit_in_bytes"), "1073741824\n");
        Assert.Equal(1L << 30, ContainerMemory.LimitBytes(v1));
        File.WriteAllText(Path.Combine(v1, "memory", "memory.limit_in_bytes"), "9223372036854771712\n"); // v1's "unlimited"
        Assert.Null(ContainerMemory.LimitBytes(v1));
        Assert.Null(ContainerMemory.LimitBytes(Path.Combine(_root, "none")));
    }

    [Fact]
    public void ContainerMemoryFindsTheProcessOwnNestedCgroupAndHonoursItsAncestors()
    {
        // cgroup v2, a pod's container nested under the pod and kubepods: the process's own limit is 1 GiB.
        var v2 = Directory.CreateDirectory(Path.Combine(_root, "nested2")).FullName;
        var pod = Directory.CreateDirectory(Path.Combine(v2, "kubepods", "pod42")).FullName;
        var container = Directory.CreateDirectory(Path.Combine(pod, "ctr1")).FullName;
        var sibling = Directory.CreateDirectory(Path.Combine(pod, "ctr2")).FullName;
        File.WriteAllText(Path.Combine(v2, "kubepods", "memory.max"), "max\n");
        File.WriteAllText(Path.Combine(pod, "memory.max"), "3221225472\n");
        File.WriteAllText(Path.Combine(container, "memory.max"), "1073741824\n");
        File.WriteAllText(Path.Combine(sibling, "memory.max"), "536870912\n");
        var self = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(self, "0::/kubepods/pod42/ctr1\n");
        Assert.Equal(1L << 30, ContainerMemory.LimitBytes(v2, self));
        // A container without its own limit is bounded by its pod's.
        File.WriteAllText(Path.Combine(container, "memory.max"), "max\n");
        Assert.Equal(3L << 30, ContainerMemory.LimitBytes(v2, self));
        // The sibling's stricter limit is not ours.
        File.WriteAllText(self, "0::/kubepods/pod42/ctr2\n");
        Assert.Equal(1L << 29, ContainerMemory.LimitBytes(v2, self));
        // Our cgroup is not under this mount (a container that sees only its own subtree): the mount point's files.
        File.WriteAllText(Path.Combine(v2, "memory.max"), "2147483648\n");
        File.WriteAllText(self, "0::/elsewhere/abc\n");
        Assert.Equal(2L << 30, ContainerMemory.LimitBytes(v2, self));

        // cgroup v1: the memory controller's line among the others.
        var v1 = Directory.CreateDirectory(Path.Combine(_root, "nested1")).FullName;
        var docker = Directory.CreateDirectory(Path.Combine(v1, "memory", "docker", "abc")).FullName;
        File.WriteAllText(Path.Combine(v1, "memory", "memory.limit_in_bytes"), "9223372036854771712\n");
        File.WriteAllText(Path.Combine(v1, "memory", "docker", "memory.limit_in_bytes"), "9223372036854771712\n");
        File.WriteAllText(Path.Combine(docker, "memory.limit_in_bytes"), "805306368\n");
        File.WriteAllText(self, "12:cpuset:/docker/abc\n11:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n");
        Assert.Equal(768L << 20, ContainerMemory.LimitBytes(v1, self));
        Assert.Null(ContainerMemory.LimitBytes(v1, Path.Combine(_root, "no-such-file")));
    }
}
