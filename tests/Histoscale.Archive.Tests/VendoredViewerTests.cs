using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Histoscale.Archive.Tests;

/// <summary>
/// The OpenSeadragon build embedded in the assembly is the one package-lock.json pins (web/update-vendor.sh copies
/// it from npm), and the viewer page loads it from the server, never from a CDN.
/// </summary>
public sealed partial class VendoredViewerTests
{
    [Fact]
    public void The_embedded_openseadragon_is_the_locked_npm_version_and_pages_load_nothing_remote()
    {
        var assembly = typeof(ArchiveServer).Assembly;
        string Resource(string name)
        {
            using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"{name} is not embedded");
            return new StreamReader(stream).ReadToEnd();
        }
        var script = Resource("wwwroot/vendor/openseadragon/openseadragon.min.js");
        var embedded = VersionHeader().Match(script).Groups[1].Value;
        var lockFile = FindUp(Path.Combine("src", "Histoscale.Archive", "web", "package-lock.json"));
        var locked = (string)JsonNode.Parse(File.ReadAllText(lockFile))!["packages"]!["node_modules/openseadragon"]!["version"]!;
        Assert.Equal(locked, embedded);
        foreach (var page in new[] { "wwwroot/index.html", "wwwroot/viewer.html" })
        {
            Assert.DoesNotMatch(RemoteSource(), Resource(page));
        }
    }

    private static string FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, relative)))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }
        throw new FileNotFoundException(relative);
    }

    [GeneratedRegex(@"^//! openseadragon (\S+)", RegexOptions.Multiline)]
    private static partial Regex VersionHeader();

    [GeneratedRegex(@"(src|href)=""(https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex RemoteSource();
}
