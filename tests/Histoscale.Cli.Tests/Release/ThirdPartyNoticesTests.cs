using System.Text.Json;
using Histoscale.Notices;

namespace Histoscale.Cli.Tests.Release;

/// <summary>
/// THIRD-PARTY-NOTICES.md lists exactly what the restore graph of the shipped projects brings, with the licenses the
/// packages declare: changing a package reference without regenerating the file fails here.
/// </summary>
[Collection(DotnetChildBuilds.Name)]
public sealed class ThirdPartyNoticesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-notices-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_committed_notices_match_the_restore_graph()
    {
        var expected = ThirdPartyNotices.Generate(RepoProcess.Root);
        var path = Path.Combine(RepoProcess.Root, ThirdPartyNotices.FileName);
        Assert.True(File.Exists(path), $"{ThirdPartyNotices.FileName} is missing: run `dotnet run --project eng/Notices`");
        var actual = File.ReadAllText(path).ReplaceLineEndings("\n");
        if (actual != expected)
        {
            var a = actual.Split('\n');
            var e = expected.Split('\n');
            var line = Enumerable.Range(0, Math.Max(a.Length, e.Length)).First(i => i >= a.Length || i >= e.Length || a[i] != e[i]);
            Assert.Fail($"{ThirdPartyNotices.FileName} is out of date (run `dotnet run --project eng/Notices`); first difference at line {line + 1}:\n" +
                        $"  committed: {(line < a.Length ? a[line] : "<end>")}\n  generated: {(line < e.Length ? e[line] : "<end>")}");
        }
        // What users get runs on these: the notices must name them (and never the build-only analyzers).
        Assert.Contains("| Microsoft.ML.OnnxRuntime |", actual, StringComparison.Ordinal);
        Assert.Contains("| Magick.NET-Q8-AnyCPU |", actual, StringComparison.Ordinal);
        Assert.DoesNotContain("PublicApiAnalyzers", actual, StringComparison.Ordinal);
        Assert.DoesNotContain("| Grpc.Tools |", actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_packages_are_the_closure_of_non_private_references_with_their_nuspec_licenses_and_npm_production_packages()
    {
        // A miniature repository: one shipped project whose assets file references a package (with a transitive
        // one) and a private analyzer, a package folder with their nuspecs, and a front end's package-lock.json.
        var root = Path.Combine(_dir, "repo");
        var cache = Path.Combine(_dir, "packages");
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(root).FullName, "Histoscale.slnx"), "<Solution />");
        Nuspec(cache, "Alpha.Lib", "1.2.0", "<license type=\"expression\">MIT</license><projectUrl>https://example.org/alpha</projectUrl>");
        Nuspec(cache, "Beta.Core", "3.0.1", "<license type=\"file\">LICENSE.txt</license>");
        Nuspec(cache, "Gamma.Old", "0.9.0", "<licenseUrl>https://example.org/gamma/license</licenseUrl>");
        Nuspec(cache, "Some.Analyzers", "5.0.0", "<license type=\"expression\">MIT</license>");
        var assets = new
        {
            version = 3,
            targets = new Dictionary<string, object>
            {
                ["net10.0"] = new Dictionary<string, object>
                {
                    ["Alpha.Lib/1.2.0"] = new { type = "package", dependencies = new Dictionary<string, string> { ["Beta.Core"] = "3.0.0" } },
                    ["Beta.Core/3.0.1"] = new { type = "package" },
                    ["Gamma.Old/0.9.0"] = new { type = "package" },
                    ["Some.Analyzers/5.0.0"] = new { type = "package" },
                    ["Histoscale.Other/1.0.0"] = new { type = "project" },
                },
                ["net10.0/linux-x64"] = new Dictionary<string, object>(),
            },
            packageFolders = new Dictionary<string, object> { [cache + "/"] = new { } },
            project = new
            {
                frameworks = new Dictionary<string, object>
                {
                    ["net10.0"] = new
                    {
                        dependencies = new Dictionary<string, object>
                        {
                            ["Alpha.Lib"] = new { target = "Package", version = "[1.2.0, )" },
                            ["Gamma.Old"] = new { target = "Package", version = "[0.9.0, )" },
                            ["Some.Analyzers"] = new { suppressParent = "All", target = "Package", version = "[5.0.0, )" },
                        },
                    },
                },
            },
        };
        var obj = Directory.CreateDirectory(Path.Combine(root, "src", "Histoscale.Thing", "obj")).FullName;
        File.WriteAllText(Path.Combine(obj, "..", "Histoscale.Thing.csproj"), "<Project />");
        File.WriteAllText(Path.Combine(obj, "project.assets.json"), JsonSerializer.Serialize(assets));
        var web = Directory.CreateDirectory(Path.Combine(root, "src", "Histoscale.Viewer", "web")).FullName;
        File.WriteAllText(Path.Combine(web, "package-lock.json"), """
            {"name":"viewer","lockfileVersion":3,"packages":{
              "":{"name":"viewer","dependencies":{"openseadragon":"^5.0.0"},"devDependencies":{"vite":"^6.0.0"}},
              "node_modules/openseadragon":{"version":"5.0.1","license":"BSD-3-Clause"},
              "node_modules/vite":{"version":"6.0.3","dev":true,"license":"MIT"},
              "node_modules/@scope/inner/node_modules/tiny":{"version":"1.0.0","license":"ISC"}}}
            """);

        var deps = ThirdPartyNotices.Collect(root);

        Assert.Equal(
            ["NuGet Alpha.Lib 1.2.0 MIT https://example.org/alpha Histoscale.Thing",
             "NuGet Beta.Core 3.0.1 see LICENSE.txt in the package  Histoscale.Thing",
             "NuGet Gamma.Old 0.9.0 https://example.org/gamma/license  Histoscale.Thing",
             "npm openseadragon 5.0.1 BSD-3-Clause  Histoscale.Viewer",
             "npm tiny 1.0.0 ISC  Histoscale.Viewer"],
            deps.Select(d => $"{d.Ecosystem} {d.Name} {d.Version} {d.License} {d.Url} {string.Join(",", d.UsedBy)}"));
        var text = ThirdPartyNotices.Render(deps);
        Assert.Contains("## NuGet packages (3)", text, StringComparison.Ordinal);
        Assert.Contains("## npm packages (2)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_restore_graph_is_an_error_naming_the_file()
    {
        var root = Path.Combine(_dir, "bare");
        Directory.CreateDirectory(Path.Combine(root, "src", "Histoscale.Thing"));
        File.WriteAllText(Path.Combine(root, "src", "Histoscale.Thing", "Histoscale.Thing.csproj"), "<Project />");
        var ex = Assert.Throws<InvalidOperationException>(() => ThirdPartyNotices.Collect(root));
        Assert.Contains(Path.Combine("src", "Histoscale.Thing", "obj", "project.assets.json"), ex.Message, StringComparison.Ordinal);
    }

    private static void Nuspec(string cache, string id, string version, string metadata)
    {
        var dir = Directory.CreateDirectory(Path.Combine(cache, id.ToLowerInvariant(), version)).FullName;
        File.WriteAllText(Path.Combine(dir, id.ToLowerInvariant() + ".nuspec"),
            $"<?xml version=\"1.0\"?><package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\"><metadata><id>{id}</id><version>{version}</version>{metadata}</metadata></package>");
    }
}
