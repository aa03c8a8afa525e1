using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Histoscale.Slides;
using Histoscale.Synthesis;

namespace Histoscale.Cli.Tests.Release;

/// <summary>`dotnet pack Histoscale.slnx` once (of the build these tests run against) into a local feed.</summary>
public sealed class PackedFeed : IDisposable
{
    public PackedFeed()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("histoscale-pack-").FullName;
        Feed = Path.Combine(Directory, "feed");
        var (code, stdout, stderr) = RepoProcess.Run(RepoProcess.Root, TimeSpan.FromMinutes(8), "dotnet", "pack", "Histoscale.slnx",
            "--no-build", "-c", RepoProcess.Configuration, "-o", Feed, "-nologo", "-v", "q");
        Log = $"dotnet pack Histoscale.slnx exited {code}\n{stdout}\n{stderr}";
        Packed = code == 0;
    }

    public string Directory { get; }
    public string Feed { get; }
    public bool Packed { get; }
    public string Log { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>
/// Every product library is a complete NuGet package and the CLI the `histoscale` dotnet tool: `dotnet pack` of the
/// solution writes them with one version, the license, the repository and its commit, a README, XML docs,
/// deterministic assemblies and symbol packages with SourceLink; a fresh console project can install Histoscale.Slides
/// from that feed and read a slide with it.
/// </summary>
[Collection(DotnetChildBuilds.Name)]
public sealed partial class PackageTests(PackedFeed packed) : IClassFixture<PackedFeed>
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    /// <summary>The product: every project under src/ (libraries by project name, the CLI as Histoscale.Cli).</summary>
    private static List<string> ProductPackageIds() =>
        System.IO.Directory.GetDirectories(Path.Combine(RepoProcess.Root, "src"))
            .Where(d => System.IO.Directory.GetFiles(d, "*.csproj").Length == 1)
            .Select(Path.GetFileName).Select(n => n!).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void Pack_of_the_solution_writes_every_product_package_and_its_symbols_and_nothing_else()
    {
        Assert.True(packed.Packed, packed.Log);
        var version = RepoProcess.VersionPrefix();
        var nupkgs = System.IO.Directory.GetFiles(packed.Feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ProductPackageIds().Select(id => $"{id}.{version}.nupkg"), nupkgs);
        var snupkgs = System.IO.Directory.GetFiles(packed.Feed, "*.snupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ProductPackageIds().Select(id => $"{id}.{version}.snupkg"), snupkgs);
    }

    [Fact]
    public void Every_package_has_complete_metadata_docs_deterministic_assemblies_and_sourcelinked_symbols()
    {
        Assert.True(packed.Packed, packed.Log);
        var version = RepoProcess.VersionPrefix();
        var repositoryUrl = RepoProcess.Property("RepositoryUrl");
        var failures = new List<string>();
        foreach (var id in ProductPackageIds())
        {
            void Check(bool ok, string what)
            {
                if (!ok)
                {
                    failures.Add($"{id}: {what}");
                }
            }
            using var zip = ZipFile.OpenRead(Path.Combine(packed.Feed, $"{id}.{version}.nupkg"));
            var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
            XDocument nuspec;
            using (var s = nuspecEntry.Open())
            {
                nuspec = XDocument.Load(s);
            }
            var m = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            XElement? El(string name) => m.Elements().FirstOrDefault(e => e.Name.LocalName == name);
            string Val(string name) => El(name)?.Value.Trim() ?? "";

            Check(Val("id") == id, $"id is '{Val("id")}'");
            Check(Val("version") == version, $"version is '{Val("version")}', Directory.Build.props says {version}");
            Check(Val("description").Length >= 40 && Val("description") != "Package Description", $"description is '{Val("description")}'");
            Check(Val("authors").Length > 0, "no authors");
            Check(El("license")?.Attribute("type")?.Value == "expression" && Val("license") == "Apache-2.0", $"license is '{El("license")}'");
            Check(Val("projectUrl") == repositoryUrl, $"projectUrl is '{Val("projectUrl")}'");
            var repo = El("repository");
            Check(repo?.Attribute("type")?.Value == "git" && repo.Attribute("url")?.Value == repositoryUrl, $"repository is '{repo}'");
            Check(Sha().IsMatch(repo?.Attribute("commit")?.Value ?? ""), $"repository commit is '{repo?.Attribute("commit")?.Value}' (SourceLink did not stamp it)");
            Check(Val("readme") == "README.md" && (zip.GetEntry("README.md")?.Length ?? 0) > 100, "no README.md in the package");
            Check(zip.GetEntry("THIRD-PARTY-NOTICES.md") is not null, "no THIRD-PARTY-NOTICES.md in the package");
            // Packages of ours depend on each other at exactly this version: one version for all.
            foreach (var dep in m.Descendants().Where(e => e.Name.LocalName == "dependency" && e.Attribute("id")!.Value.StartsWith("Histoscale.", StringComparison.Ordinal)))
            {
                Check(dep.Attribute("version")?.Value == version, $"depends on {dep.Attribute("id")!.Value} {dep.Attribute("version")?.Value}");
            }

            var isTool = id == "Histoscale.Cli";
            var assemblyName = isTool ? "histoscale" : id;
            var folder = isTool ? "tools/net10.0/any/" : "lib/net10.0/";
            if (isTool)
            {
                var types = m.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => e.Attribute("name")?.Value).ToList();
                Check(types.Contains("DotnetTool"), "not a dotnet tool package");
                using var settings = zip.GetEntry(folder + "DotnetToolSettings.xml")?.Open();
                Check(settings is not null && XDocument.Load(settings).Descendants("Command").Any(c => c.Attribute("Name")?.Value == "histoscale"), "the tool's command is not `histoscale`");
            }
            else
            {
                Check((zip.GetEntry(folder + assemblyName + ".xml")?.Length ?? 0) > 0, $"no XML documentation {folder}{assemblyName}.xml");
            }
            var dll = zip.GetEntry(folder + assemblyName + ".dll");
            Check(dll is not null, $"no {folder}{assemblyName}.dll");
            if (dll is not null)
            {
                using var ms = new MemoryStream();
                using (var s = dll.Open())
                {
                    s.CopyTo(ms);
                }
                ms.Position = 0;
                using var pe = new PEReader(ms);
                Check(pe.ReadDebugDirectory().Any(e => e.Type == DebugDirectoryEntryType.Reproducible), $"{assemblyName}.dll is not a deterministic (reproducible) build");
                var informational = pe.GetMetadataReader().GetAssemblyDefinition().GetCustomAttributes()
                    .Select(h => pe.GetMetadataReader().GetCustomAttribute(h))
                    .Select(a => AttributeValue(pe.GetMetadataReader(), a, "AssemblyInformationalVersionAttribute"))
                    .FirstOrDefault(v => v is not null);
                Check(informational is not null && Regex.IsMatch(informational, $"^{Regex.Escape(version)}\\+[0-9a-f]{{40}}$"),
                    $"{assemblyName}.dll informational version is '{informational}', not {version}+COMMIT");
            }

            using var symbols = ZipFile.OpenRead(Path.Combine(packed.Feed, $"{id}.{version}.snupkg"));
            var pdb = symbols.GetEntry(folder + assemblyName + ".pdb");
            Check(pdb is not null, $"no {folder}{assemblyName}.pdb in the symbol package");
            if (pdb is not null)
            {
                using var ms = new MemoryStream();
                using (var s = pdb.Open())
                {
                    s.CopyTo(ms);
                }
                ms.Position = 0;
                using var provider = MetadataReaderProvider.FromPortablePdbStream(ms);
                var reader = provider.GetMetadataReader();
                var sourceLink = reader.CustomDebugInformation.Select(reader.GetCustomDebugInformation)
                    .Where(c => reader.GetGuid(c.Kind) == SourceLinkKind)
                    .Select(c => System.Text.Encoding.UTF8.GetString(reader.GetBlobBytes(c.Value)))
                    .FirstOrDefault();
                Check(sourceLink is not null && sourceLink.Contains("raw.githubusercontent.com", StringComparison.Ordinal),
                    $"{assemblyName}.pdb has no SourceLink to the repository ({sourceLink ?? "none"})");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void A_new_console_project_installs_Histoscale_Slides_from_the_feed_and_reads_a_synthesized_slide()
    {
        Assert.True(packed.Packed, packed.Log);
        var version = RepoProcess.VersionPrefix();
        var work = System.IO.Directory.CreateDirectory(Path.Combine(packed.Directory, "consumer")).FullName;
        var slidePath = Path.Combine(work, "slide.svs");
        SlideSynthesizer.Write(slidePath, new SynthOptions { Width = 1500, Height = 1100, TileSize = 240, Seed = 9 });

        // Its own package folder, so the Histoscale packages come from this feed and nowhere else; everything else
        // is found in the machine's package folder or from the configured sources, as for any user.
        var (_, locals, _) = RepoProcess.Run(work, TimeSpan.FromMinutes(1), "dotnet", "nuget", "locals", "global-packages", "--list");
        var userPackages = locals.Trim().Split(": ", 2)[^1].Trim();
        Assert.False(System.IO.Directory.Exists(Path.Combine(userPackages, "histoscale.slides", version)),
            $"{userPackages}/histoscale.slides/{version} exists: the restore would take that copy instead of the feed's; delete it");
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(work, "packages")}" /></config>
              <packageSources><add key="histoscale-local" value="{packed.Feed}" /></packageSources>
              <fallbackPackageFolders><add key="machine" value="{userPackages}" /></fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(work, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Histoscale.Slides" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(work, "Program.cs"), """
            using Histoscale.Slides;

            using var slide = Slide.Open(args[0]);
            var region = slide.ReadRegion(0, 300, 200, 512, 384);
            long sum = 0;
            foreach (var b in region.Pixels) { sum += b; }
            Console.WriteLine($"{slide.Format} {slide.Width}x{slide.Height} levels={slide.Levels.Count} sum={sum}");
            """);

        var (code, stdout, stderr) = RepoProcess.Run(work, TimeSpan.FromMinutes(6), "dotnet", "run", "--", slidePath);
        Assert.True(code == 0, $"the consumer project failed ({code}):\n{stdout}\n{stderr}");
        var assets = File.ReadAllText(Path.Combine(work, "obj", "project.assets.json"));
        Assert.Contains("\"Histoscale.Slides/" + version + "\"", assets, StringComparison.Ordinal);
        Assert.True(System.IO.Directory.Exists(Path.Combine(work, "packages", "histoscale.slides", version)), "Histoscale.Slides was not installed from the local feed");

        // The same region read in process by the build under test.
        using var slide = Slide.Open(slidePath);
        var expected = slide.ReadRegion(0, 300, 200, 512, 384).Pixels.Sum(b => (long)b);
        Assert.Equal($"{slide.Format} 1500x1100 levels={slide.Levels.Count} sum={expected}", stdout.Trim());
    }

    private static string? AttributeValue(MetadataReader reader, CustomAttribute attribute, string typeName)
    {
        if (attribute.Constructor.Kind != HandleKind.MemberReference)
        {
            return null;
        }
        var ctor = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
        if (ctor.Parent.Kind != HandleKind.TypeReference || reader.GetString(reader.GetTypeReference((TypeReferenceHandle)ctor.Parent).Name) != typeName)
        {
            return null;
        }
        var blob = reader.GetBlobReader(attribute.Value);
        blob.ReadUInt16(); // prolog
        return blob.ReadSerializedString();
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex Sha();
}
