using System.Diagnostics;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Histoscale.Deploy.Tests;

/// <summary>Renders into a temporary folder and reads the files back as JSON trees (YAML scalars as strings).</summary>
internal sealed class Rendered : IDisposable
{
    public Rendered(string target, string cloud, string gpu = "none", string arch = "amd64", string? yaml = null)
    {
        Files = DeployRenderer.Render(new RenderRequest { Target = target, Cloud = cloud, Gpu = gpu, Arch = arch }, yaml);
        foreach (var f in Files)
        {
            var path = Path.Combine(Dir, f.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, f.Content);
        }
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("histoscale-deploy-").FullName;

    public IReadOnlyList<RenderedFile> Files { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    public JsonNode Json(string path) => JsonNode.Parse(Files.Single(f => f.Path == path).Content)!;

    public JsonNode YamlFile(string path) => Docs(Files.Single(f => f.Path == path).Content).Single();

    public static List<JsonNode> Docs(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => ToJson(d.RootNode)!)];
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(ToJson)]),
        YamlScalarNode v => JsonValue.Create(v.Value),
        _ => null,
    };

    /// <summary><c>kubectl kustomize</c> of the cloud's overlay: the objects a user applies, or null when kubectl is absent.</summary>
    public (int Code, string Out, string Err)? Kustomize(string cloud)
    {
        var kubectl = Which("kubectl");
        if (kubectl is null)
        {
            return null;
        }
        return Exec(kubectl, ["kustomize", Path.Combine(Dir, "k8s", "overlays", cloud)]);
    }

    public static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    public static (int Code, string Out, string Err) Exec(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The repository root (holds Histoscale.slnx).</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Histoscale.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Histoscale.slnx not found above the test folder");
    }

    public static IEnumerable<JsonObject> Containers(JsonNode obj)
    {
        var pod = obj["kind"]!.GetValue<string>() == "ScaledJob" ? obj["spec"]!["jobTargetRef"]!["template"]!["spec"]! : obj["spec"]!["template"]!["spec"]!;
        return pod["containers"]!.AsArray().Select(c => c!.AsObject());
    }

    public static JsonNode PodSpec(JsonNode obj) =>
        obj["kind"]!.GetValue<string>() == "ScaledJob" ? obj["spec"]!["jobTargetRef"]!["template"]!["spec"]! : obj["spec"]!["template"]!["spec"]!;
}
