using System.Text.RegularExpressions;

namespace Histoscale.Cli.Tests.Release;

/// <summary>What a newcomer reads first links everything: docs/index.md every document, README the essentials.</summary>
public sealed partial class DocumentationTests
{
    [Fact]
    public void Docs_index_links_every_document_and_every_link_resolves()
    {
        var docs = Path.Combine(RepoProcess.Root, "docs");
        var index = File.ReadAllText(Path.Combine(docs, "index.md"));
        var targets = Links().Matches(index).Select(m => m.Groups["target"].Value)
            .Where(t => !t.Contains("://", StringComparison.Ordinal))
            .Select(t => Path.GetFullPath(Path.Combine(docs, t.Split('#')[0])))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            Assert.True(File.Exists(target), $"docs/index.md links {Path.GetRelativePath(RepoProcess.Root, target)}, which does not exist");
        }
        var documents = Directory.GetFiles(docs, "*.md", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(RepoProcess.Root, "*.md"))
            .Append(Path.Combine(RepoProcess.Root, "LICENSE"))
            .Where(f => Path.GetFileName(f) != "index.md" || Path.GetDirectoryName(f) != docs);
        var missing = documents.Where(d => !targets.Contains(Path.GetFullPath(d))).Select(d => Path.GetRelativePath(RepoProcess.Root, d)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"docs/index.md does not link: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Readme_links_the_license_changelog_contributing_guide_and_docs()
    {
        var readme = File.ReadAllText(Path.Combine(RepoProcess.Root, "README.md"));
        var targets = Links().Matches(readme).Select(m => m.Groups["target"].Value).ToHashSet(StringComparer.Ordinal);
        foreach (var required in new[] { "LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md", "docs/index.md" })
        {
            Assert.True(targets.Contains(required), $"README.md does not link {required}");
            Assert.True(File.Exists(Path.Combine(RepoProcess.Root, required)), $"{required} is missing");
        }
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Links();
}
