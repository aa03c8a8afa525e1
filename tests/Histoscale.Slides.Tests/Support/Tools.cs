using System.Diagnostics;

namespace Histoscale.Slides.Tests.Support;

/// <summary>External oracles (OpenSlide's Python binding, libvips' CLI) that .ci/run installs from Debian packages.</summary>
public static class Tools
{
    /// <summary>
    /// The first python3 or python3.N on PATH that can import OpenSlide's binding: a developer's pyenv or venv python
    /// may lack it while the distribution's (later on PATH) has it, or the other way round. No path is hard-coded.
    /// </summary>
    private static readonly Lazy<string?> OpenSlidePython = new(() =>
        PythonCandidates(Environment.GetEnvironmentVariable("PATH")).FirstOrDefault(p => Run(p, ["-c", "import openslide"], out _) == 0));

    private static readonly Lazy<bool> OpenSlideAvailable = new(() => OpenSlidePython.Value is not null);
    private static readonly Lazy<bool> VipsAvailable = new(() => Run("vips", ["--version"], out _) == 0);

    public static void RequireOpenSlide() =>
        Skip.IfNot(OpenSlideAvailable.Value, "oracle comparison skipped: no python3 with OpenSlide's binding (python3-openslide; .ci/run installs it)");

    /// <summary>The interpreter that has OpenSlide (after <see cref="RequireOpenSlide"/>).</summary>
    public static string Python => OpenSlidePython.Value ?? throw new InvalidOperationException("no python3 with openslide; call RequireOpenSlide first");

    /// <summary>Every python3 and python3.N (python3 first in each folder, then newest first) in PATH order.</summary>
    internal static IEnumerable<string> PythonCandidates(string? pathVariable)
    {
        foreach (var dir in (pathVariable ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Directory.Exists(dir))
            {
                continue;
            }
            // (The pattern "python3.*" also matches a plain "python3": names are checked again.)
            var versioned = Directory.EnumerateFiles(dir, "python3.*")
                .Where(f => Path.GetFileName(f).StartsWith("python3.", StringComparison.Ordinal))
                .Select(f => (File: f, Minor: int.TryParse(Path.GetFileName(f)["python3.".Length..], out var n) ? n : -1))
                .Where(c => c.Minor >= 0)
                .OrderByDescending(c => c.Minor)
                .Select(c => c.File);
            var plain = Path.Combine(dir, "python3");
            foreach (var candidate in (File.Exists(plain) ? [plain] : Array.Empty<string>()).Concat(versioned))
            {
                yield return candidate;
            }
        }
    }

    public static void RequireVips() =>
        Skip.IfNot(VipsAvailable.Value, "oracle comparison skipped: libvips-tools (vips) is not installed (.ci/run installs it)");

    /// <summary>Runs a program to completion (bounded at two minutes); returns its exit code.</summary>
    public static int Run(string file, IEnumerable<string> args, out string output)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(120_000))
            {
                p.Kill(true);
                output = "timed out";
                return -1;
            }
            output = stdout + stderr.Result;
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            output = ex.Message;
            return -1;
        }
    }

    public static void MustRun(string file, params string[] args)
    {
        var code = Run(file, args, out var output);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}: {output}");
    }
}
