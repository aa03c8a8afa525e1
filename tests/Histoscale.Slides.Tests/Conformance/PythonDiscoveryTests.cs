using Histoscale.Slides.Tests.Support;

namespace Histoscale.Slides.Tests.Conformance;

/// <summary>The oracle's interpreter is looked for on PATH only: python3, then python3.N newest first, folder by folder.</summary>
public sealed class PythonDiscoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-python-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Candidates_come_from_PATH_in_order_and_no_path_is_hard_coded()
    {
        var venv = Directory.CreateDirectory(Path.Combine(_dir, "venv", "bin")).FullName;
        var system = Directory.CreateDirectory(Path.Combine(_dir, "usr", "bin")).FullName;
        foreach (var f in new[] { Path.Combine(venv, "python3.12"), Path.Combine(system, "python3"), Path.Combine(system, "python3.9"),
                                  Path.Combine(system, "python3.11"), Path.Combine(system, "python3.11-config"), Path.Combine(system, "python2") })
        {
            File.WriteAllText(f, "");
        }
        var path = string.Join(Path.PathSeparator, venv, Path.Combine(_dir, "missing"), system);

        Assert.Equal(
            [Path.Combine(venv, "python3.12"), Path.Combine(system, "python3"), Path.Combine(system, "python3.11"), Path.Combine(system, "python3.9")],
            Tools.PythonCandidates(path));
        Assert.Empty(Tools.PythonCandidates(""));
        Assert.Empty(Tools.PythonCandidates(null));
    }
}
