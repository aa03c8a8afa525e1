using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Histoscale.Cli.Tests.Commands;

/// <summary><c>deploy render</c> as a user runs it: bad input is exit 2 with one line; rendered serve lines parse with serve's own flags.</summary>
public sealed class DeployCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-deploy-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string yaml)
    {
        var path = Path.Combine(_dir, "deploy.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Theory]
    [InlineData("--cloud", "k8s", "oracle", "none", null)]
    [InlineData("--target", "nomad", "aws", "none", null)]
    [InlineData("--gpu", "k8s", "aws", "v100", null)]
    [InlineData("--gpu l4", "containerapps", "azure", "l4", null)]
    [InlineData("--gpu a10g", "k8s", "gcp", "a10g", null)]
    [InlineData("--target ecs", "ecs", "gcp", "none", null)]
    [InlineData("--target containerapps", "containerapps", "aws", "none", null)]
    [InlineData("workers", "ecs", "aws", "none", "queue: redis://r:6379\nworkers: {cpu: 3, memoryGiB: 4}\n")]
    [InlineData("queue", "ecs", "aws", "none", "workers: {cpu: 1, memoryGiB: 2}\n")]
    [InlineData("workers", "containerapps", "azure", "none", "workers: {cpu: 1, memoryGiB: 3}\n")]
    [InlineData("server.cpu", "k8s", "aws", "none", "server: {cpu: -1}\n")]
    [InlineData("deploy.yaml", "k8s", "aws", "none", "sever: {cpu: 2}\n")]
    [InlineData("queue", "k8s", "aws", "none", "queue: ftp://x/y\n")]
    [InlineData("queue", "containerapps", "azure", "none", "queue: sqs://eu-west-1/jobs\n")]
    [InlineData("queue", "ecs", "aws", "none", "queue: azqueue://labstore/jobs\n")]
    [InlineData("queue", "containerapps", "azure", "none", "queue: gcppubsub://lab-1/jobs-sub\n")]
    public async Task BadInputIsExitTwoWithOneLineNamingIt(string named, string target, string cloud, string gpu, string? yaml)
    {
        var args = new List<string> { "deploy", "render", "--target", target, "--cloud", cloud, "--gpu", gpu, "--out", Path.Combine(_dir, "out") };
        if (yaml is not null)
        {
            args.AddRange(["--config", Config(yaml)]);
        }
        var (code, stdout, stderr) = await ReaderCommandsTests.Run([.. args]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("histoscale: ", lines[0]);
        Assert.Contains(named, lines[0]);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")), "nothing is written on bad input");
    }

    /// <summary>
    /// Every rendered <c>serve</c> command line (k8s, ECS, Container Apps; CPU and GPU) parses with the real
    /// <c>serve</c> command, and the ports the manifests open and probe are the ones those flags bind.
    /// </summary>
    [Theory]
    [InlineData("k8s", "aws", "none")]
    [InlineData("k8s", "gcp", "l4")]
    [InlineData("ecs", "aws", "t4")]
    [InlineData("containerapps", "azure", "a100")]
    public async Task RenderedServeLinesParseWithServesFlagsAndPortsMatch(string target, string cloud, string gpu)
    {
        var config = Config("ports: {http: 18000, grpc: 18001, metrics: 18002}\n" + (target == "ecs" ? "queue: redis://jobs.abc123.euw1.cache.amazonaws.com:6379\n" : ""));
        var outDir = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = await ReaderCommandsTests.Run("deploy", "render", "--target", target, "--cloud", cloud, "--gpu", gpu, "--config", config, "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote", stdout);

        List<string> args;
        List<int> opened;
        if (target == "ecs")
        {
            var task = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "ecs", "taskdef-server.json"))).RootElement;
            var container = task.GetProperty("containerDefinitions")[0];
            args = [.. container.GetProperty("command").EnumerateArray().Select(a => a.GetString()!)];
            opened = [.. container.GetProperty("portMappings").EnumerateArray().Select(p => p.GetProperty("containerPort").GetInt32())];
            Assert.Contains($"/v2/health/ready", container.GetProperty("healthCheck").GetProperty("command")[1].GetString());
        }
        else
        {
            var file = target == "k8s" ? Path.Combine(outDir, "k8s", "base", "server-deployment.yaml") : Path.Combine(outDir, "containerapps", "server.yaml");
            var yaml = new YamlStream();
            yaml.Load(new StringReader(File.ReadAllText(file)));
            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            var container = target == "k8s"
                ? (YamlMappingNode)((YamlSequenceNode)Map(root, "spec", "template", "spec")["containers"])[0]
                : (YamlMappingNode)((YamlSequenceNode)Map(root, "properties", "template")["containers"])[0];
            args = [.. ((YamlSequenceNode)container["args"]).Select(n => ((YamlScalarNode)n).Value!)];
            opened = target == "k8s"
                ? [.. ((YamlSequenceNode)container["ports"]).Select(p => int.Parse(((YamlScalarNode)((YamlMappingNode)p)["containerPort"]).Value!))]
                : [int.Parse(((YamlScalarNode)Map(root, "properties", "configuration", "ingress")["targetPort"]).Value!)];
        }

        var parse = HistoscaleCommands.CreateRoot().Parse([.. args]);
        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        Assert.Equal("serve", parse.CommandResult.Command.Name);
        var http = parse.GetValue<int>("--http-port");
        Assert.Equal(18000, http);
        Assert.Contains(http, opened);
        Assert.Equal(gpu == "none" ? "cpu" : "cuda", parse.GetValue<string>("--device"));
        if (target != "containerapps")
        {
            Assert.Contains(parse.GetValue<int>("--grpc-port"), opened);
            Assert.Contains(parse.GetValue<int>("--metrics-port"), opened);
        }
    }

    [Fact]
    public async Task InitPrintsADescriptionThatRendersUnchanged()
    {
        var (code, stdout, _) = await ReaderCommandsTests.Run("deploy", "init");
        Assert.Equal(0, code);
        Assert.Contains("queueTimeThresholdMs", stdout);
        // ECS has no default broker the worker supports: the user names one (here Redis on ElastiCache).
        Assert.Contains("queue: \"\"", stdout);
        var described = stdout.Replace("queue: \"\"", "queue: redis://jobs.abc123.euw1.cache.amazonaws.com:6379", StringComparison.Ordinal);
        var (code2, _, stderr) = await ReaderCommandsTests.Run("deploy", "render", "--target", "ecs", "--cloud", "aws", "--arch", "arm64", "--config", Config(described), "--out", Path.Combine(_dir, "o"));
        Assert.True(code2 == 0, stderr);
        Assert.Contains("\"ARM64\"", File.ReadAllText(Path.Combine(_dir, "o", "ecs", "taskdef-worker.json")));
    }

    private static YamlMappingNode Map(YamlMappingNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = (YamlMappingNode)node[key];
        }
        return node;
    }
}
