using System.Text.RegularExpressions;

namespace Histoscale.Cli.Tests.Release;

/// <summary>`histoscale --version` says which release and which commit a binary is.</summary>
public sealed class VersionTests
{
    [Fact]
    public void Version_option_prints_the_one_version_and_the_commit_it_was_built_from()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "histoscale.dll");
        var (code, stdout, stderr) = RepoProcess.Run(AppContext.BaseDirectory, TimeSpan.FromMinutes(1), "dotnet", cli, "--version");
        Assert.True(code == 0, $"histoscale --version exited {code}: {stderr}");
        var match = Regex.Match(stdout.Trim(), "^(?<version>[0-9][^+]*)\\+(?<commit>[0-9a-f]{40})$");
        Assert.True(match.Success, $"histoscale --version printed '{stdout.Trim()}', not VERSION+COMMIT");
        Assert.Equal(RepoProcess.VersionPrefix(), match.Groups["version"].Value);
        // The commit is one of this repository's (the one the build saw as HEAD).
        var (exists, _, err) = RepoProcess.Run(RepoProcess.Root, TimeSpan.FromMinutes(1), "git", "cat-file", "-e", match.Groups["commit"].Value + "^{commit}");
        Assert.True(exists == 0, $"{match.Groups["commit"].Value} is not a commit of this repository: {err}");
    }
}
