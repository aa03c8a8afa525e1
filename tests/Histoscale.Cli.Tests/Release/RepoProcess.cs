using System.Diagnostics;
using System.Reflection;
using System.Xml.Linq;

namespace Histoscale.Cli.Tests.Release;

/// <summary>The repository the tests were built from, and running its tools as child processes.</summary>
internal static class RepoProcess
{
    public static string Root { get; } = Histoscale.Notices.ThirdPartyNotices.FindRepositoryRoot(AppContext.BaseDirectory);

    /// <summary>The configuration this test assembly (and so the product it references) was built in.</summary>
    public static string Configuration { get; } =
        typeof(RepoProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The one version, as Directory.Build.props sets it.</summary>
    public static string VersionPrefix()
    {
        var props = XDocument.Load(Path.Combine(Root, "Directory.Build.props"));
        var versions = props.Descendants("VersionPrefix").Select(e => e.Value.Trim()).ToList();
        Assert.True(versions.Count == 1, $"Directory.Build.props should set VersionPrefix exactly once; it sets it {versions.Count} times");
        return versions[0];
    }

    public static string Property(string name)
    {
        var props = XDocument.Load(Path.Combine(Root, "Directory.Build.props"));
        return props.Descendants(name).Single().Value.Trim();
    }

    public static (int Code, string Stdout, string Stderr) Run(string workingDirectory, TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // A child dotnet must not join the test host's build server or inherit its MSBuild state.
        psi.Environment["MSBUILDNOINPROCNODE"] = null;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>
/// Tests that run `dotnet publish`/`dotnet pack` or read the restore graph: one at a time, since a publish restores
/// the CLI for a runtime (rewriting its obj/project.assets.json) while the others read it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DotnetChildBuilds
{
    public const string Name = "dotnet child builds";
}
