using System.Text.RegularExpressions;

namespace Histoscale.Cli.Tests.Release;

/// <summary>
/// bench/run.sh is where every published figure comes from, and `bash -n` cannot see a here-document left open (it
/// swallows the rest of the script): a merge once dropped the end of the stain section's Python, so `stain` and `qc`
/// silently ran nothing. Every section the usage line names must also exist.
/// </summary>
public sealed partial class BenchScriptTests
{
    private static string Script => File.ReadAllText(Path.Combine(RepoProcess.Root, "bench", "run.sh"));

    [Fact]
    public void Every_here_document_is_closed_before_the_next_one_opens()
    {
        var lines = Script.Split('\n');
        string? open = null;
        var openedAt = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (open is not null)
            {
                if (lines[i] == open)
                {
                    open = null;
                    continue;
                }
                Assert.False(HereDocument().IsMatch(lines[i]), $"bench/run.sh:{i + 1} opens a here-document while the one of line {openedAt} (<<'{open}') is still open");
                continue;
            }
            if (HereDocument().Match(lines[i]) is { Success: true } m)
            {
                open = m.Groups["tag"].Value;
                openedAt = i + 1;
            }
        }
        Assert.True(open is null, $"bench/run.sh:{openedAt} opens <<'{open}' and never closes it");
    }

    [Fact]
    public void Every_section_of_the_usage_line_has_its_block()
    {
        var script = Script;
        var usage = Usage().Match(script);
        Assert.True(usage.Success, "bench/run.sh has no usage line '#   bash bench/run.sh [...]'");
        var sections = usage.Groups["list"].Value.Split('|').Select(s => s.Split(' ')[0]).Where(s => s is not ("all" or "ab")).ToList();
        Assert.NotEmpty(sections);
        foreach (var section in sections)
        {
            Assert.True(script.Contains($"$what == {section}", StringComparison.Ordinal), $"bench/run.sh's usage names '{section}' but no block tests $what == {section}");
        }
    }

    [GeneratedRegex(@"<<'(?<tag>[A-Z]+)'")]
    private static partial Regex HereDocument();

    [GeneratedRegex(@"^#\s+bash bench/run\.sh \[(?<list>[^\]]+)\]", RegexOptions.Multiline)]
    private static partial Regex Usage();
}
