using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace Histoscale.Notices;

/// <summary>One third-party package that ships with Histoscale's packages or tool.</summary>
/// <param name="Ecosystem">"NuGet" or "npm".</param>
/// <param name="Name">Package id or name as its registry spells it.</param>
/// <param name="Version">Resolved version.</param>
/// <param name="License">SPDX expression, or where the license text is when the package gives no expression.</param>
/// <param name="Url">The package's project URL from its metadata; empty when it gives none.</param>
/// <param name="UsedBy">Our projects (src/ folders) that ship it.</param>
internal sealed record Dependency(string Ecosystem, string Name, string Version, string License, string Url, IReadOnlyList<string> UsedBy);

/// <summary>
/// The third-party notices, generated from the restore graph: for every shipped project (a folder under src/ with a
/// .csproj), the packages of its obj/project.assets.json reachable from its direct references that are not private
/// (PrivateAssets=all: analyzers, code generators), each with the license its nuspec in the package folder
/// declares; then every non-development package of each package-lock.json under src/.
/// </summary>
internal static class ThirdPartyNotices
{
    public const string FileName = "THIRD-PARTY-NOTICES.md";

    public static string Generate(string repoRoot) => Render(Collect(repoRoot));

    public static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Histoscale.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"Histoscale.slnx not found above {start}");
    }

    public static List<Dependency> Collect(string repoRoot)
    {
        var src = Path.Combine(repoRoot, "src");
        var found = new Dictionary<(string Ecosystem, string Name, string Version), (Dependency Dep, SortedSet<string> UsedBy)>();
        void Add(Dependency d, string project)
        {
            var key = (d.Ecosystem, d.Name.ToLowerInvariant(), d.Version);
            if (!found.TryGetValue(key, out var entry))
            {
                entry = (d, new SortedSet<string>(StringComparer.Ordinal));
                found[key] = entry;
            }
            entry.UsedBy.Add(project);
        }

        foreach (var project in Directory.GetFiles(src, "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(project);
            var assets = Path.Combine(Path.GetDirectoryName(project)!, "obj", "project.assets.json");
            if (!File.Exists(assets))
            {
                throw new InvalidOperationException($"{Path.GetRelativePath(repoRoot, assets)} not found: restore the solution first (dotnet restore Histoscale.slnx)");
            }
            foreach (var d in NuGetPackages(assets))
            {
                Add(d, name);
            }
        }
        foreach (var lockFile in Directory.GetFiles(src, "package-lock.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (lockFile.Replace('\\', '/').Contains("/node_modules/", StringComparison.Ordinal))
            {
                continue;
            }
            var owner = Path.GetRelativePath(src, Path.GetDirectoryName(lockFile)!).Replace('\\', '/').Split('/')[0];
            foreach (var d in NpmPackages(lockFile))
            {
                Add(d, owner);
            }
        }
        return found.Values
            .Select(e => e.Dep with { UsedBy = e.UsedBy.ToList() })
            .OrderBy(d => d.Ecosystem, StringComparer.Ordinal)
            .ThenBy(d => d.Name, StringComparer.OrdinalIgnoreCase)
            .ThenBy(d => d.Version, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The packages one project ships: the closure of its non-private direct package references.</summary>
    public static IEnumerable<Dependency> NuGetPackages(string assetsPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(assetsPath));
        var root = doc.RootElement;
        string Where(string what) => $"{assetsPath}: {what}";

        // The framework's own graph (no runtime identifier): what every runtime's package has in common.
        var target = root.GetProperty("targets").EnumerateObject().FirstOrDefault(t => !t.Name.Contains('/', StringComparison.Ordinal));
        if (target.Value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException(Where("no framework target in \"targets\""));
        }
        var packages = new Dictionary<string, (string Name, string Version, string[] Dependencies)>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in target.Value.EnumerateObject())
        {
            if (!entry.Value.TryGetProperty("type", out var type) || type.GetString() != "package")
            {
                continue;
            }
            var slash = entry.Name.IndexOf('/', StringComparison.Ordinal);
            var deps = entry.Value.TryGetProperty("dependencies", out var d) ? d.EnumerateObject().Select(p => p.Name).ToArray() : [];
            packages[entry.Name[..slash]] = (entry.Name[..slash], entry.Name[(slash + 1)..], deps);
        }

        var framework = root.GetProperty("project").GetProperty("frameworks").EnumerateObject().First().Value;
        var queue = new Queue<string>();
        if (framework.TryGetProperty("dependencies", out var direct))
        {
            foreach (var dep in direct.EnumerateObject())
            {
                var suppressed = dep.Value.TryGetProperty("suppressParent", out var s) ? s.GetString() ?? "" : "";
                var include = dep.Value.TryGetProperty("include", out var i) ? i.GetString() ?? "All" : "All";
                // PrivateAssets=all (analyzers, Grpc.Tools) and ExcludeAssets=all never reach a user.
                if (suppressed.Equals("All", StringComparison.OrdinalIgnoreCase) || include.Equals("None", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                queue.Enqueue(dep.Name);
            }
        }
        // Project references bring their own packages; each shipped project is read on its own, so only the
        // packages below this project's own references are followed here.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var packageFolder = root.GetProperty("packageFolders").EnumerateObject().First().Name;
        while (queue.Count > 0)
        {
            var id = queue.Dequeue();
            if (!seen.Add(id) || !packages.TryGetValue(id, out var p))
            {
                continue; // already listed, or pruned because the shared framework provides it
            }
            foreach (var dep in p.Dependencies)
            {
                queue.Enqueue(dep);
            }
            var (license, url) = ReadNuspec(packageFolder, p.Name, p.Version);
            yield return new Dependency("NuGet", p.Name, p.Version, license, url, []);
        }
    }

    private static (string License, string Url) ReadNuspec(string packageFolder, string id, string version)
    {
        var lower = id.ToLowerInvariant();
        var path = Path.Combine(packageFolder, lower, version.ToLowerInvariant(), lower + ".nuspec");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} not found: restore the solution first (dotnet restore Histoscale.slnx)");
        }
        var metadata = XDocument.Load(path).Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata")
            ?? throw new InvalidOperationException($"{path}: no <metadata>");
        string? Value(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value.Trim();
        var licenseElement = metadata.Elements().FirstOrDefault(e => e.Name.LocalName == "license");
        var license = licenseElement?.Attribute("type")?.Value switch
        {
            "expression" => licenseElement.Value.Trim(),
            "file" => $"see {licenseElement.Value.Trim()} in the package",
            _ => Value("licenseUrl") is { Length: > 0 } u ? u : "not stated in the package",
        };
        return (license, Value("projectUrl") ?? "");
    }

    /// <summary>The packages a package-lock.json (lockfileVersion 2 or 3) installs for production.</summary>
    public static IEnumerable<Dependency> NpmPackages(string lockPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(lockPath));
        if (!doc.RootElement.TryGetProperty("packages", out var packages))
        {
            throw new InvalidOperationException($"{lockPath}: no \"packages\" (lockfileVersion 1 is not supported; run npm install with npm 7 or later)");
        }
        var list = new List<Dependency>();
        foreach (var entry in packages.EnumerateObject())
        {
            var at = entry.Name.LastIndexOf("node_modules/", StringComparison.Ordinal);
            if (at < 0)
            {
                continue; // the root project or a workspace folder: ours
            }
            var p = entry.Value;
            bool Flag(string name) => p.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.True;
            if (Flag("dev") || Flag("devOptional") || Flag("link"))
            {
                continue; // build and test tooling: not shipped
            }
            var name = p.TryGetProperty("name", out var n) ? n.GetString()! : entry.Name[(at + "node_modules/".Length)..];
            var version = p.TryGetProperty("version", out var v) ? v.GetString() ?? "" : "";
            var license = p.TryGetProperty("license", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : "not stated in the lockfile";
            list.Add(new Dependency("npm", name, version, license, "", []));
        }
        return list;
    }

    public static string Render(IReadOnlyList<Dependency> dependencies)
    {
        var sb = new StringBuilder();
        sb.Append("# Third-party notices\n\n");
        sb.Append("Histoscale is licensed under the Apache License 2.0 ([LICENSE](LICENSE)). Its NuGet packages and the `histoscale`\n");
        sb.Append("tool ship with the third-party packages below, each under its own license (as its package declares it).\n");
        sb.Append("Native libraries come inside these packages under the packages' terms (ONNX Runtime in Microsoft.ML.OnnxRuntime;\n");
        sb.Append("ImageMagick with libjpeg-turbo, OpenJPEG, libpng and zlib in Magick.NET).\n\n");
        sb.Append("Generated from the restore graph by `dotnet run --project eng/Notices` (every project under `src/`: the packages\n");
        sb.Append("its `obj/project.assets.json` reaches from its non-private references, licenses from each package's nuspec; and\n");
        sb.Append("the production packages of any `package-lock.json` under `src/`). Do not edit by hand: the test\n");
        sb.Append("`ThirdPartyNoticesTests` fails when this file and the restore graph differ.\n");
        foreach (var group in dependencies.GroupBy(d => d.Ecosystem))
        {
            sb.Append($"\n## {group.Key} packages ({group.Count()})\n\n");
            sb.Append("| package | version | license | project | brought in by |\n");
            sb.Append("| --- | --- | --- | --- | --- |\n");
            foreach (var d in group)
            {
                var url = d.Url.Length > 0 ? $"<{d.Url}>" : "";
                sb.Append($"| {Cell(d.Name)} | {Cell(d.Version)} | {Cell(d.License)} | {url} | {Cell(string.Join(", ", d.UsedBy))} |\n");
            }
        }
        return sb.ToString();
    }

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
