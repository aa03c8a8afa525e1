using System.Diagnostics;

namespace Histoscale.Cli.Tests.Publish;

/// <summary>
/// The CLI publishes for the cheap cloud CPUs (Graviton, Ampere, Axion are arm64) and for x64, ReadyToRun, with every
/// native library it loads present and built for that architecture. Nothing here can run arm64 code, so the check is
/// what the published folder holds: the ELF machine of each shared object, and the natives the managed code needs.
/// </summary>
[Collection(Histoscale.Cli.Tests.Release.DotnetChildBuilds.Name)]
public sealed class PublishTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-publish-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("linux-arm64", (ushort)183)] // EM_AARCH64
    [InlineData("linux-x64", (ushort)62)]    // EM_X86_64
    public void Publish_for_a_runtime_holds_every_native_library_for_that_architecture(string rid, ushort elfMachine)
    {
        var output = Path.Combine(_dir, rid);
        var (code, log) = Run("dotnet", "publish", Path.Combine(RepoRoot(), "src", "Histoscale.Cli"), "-c", "Release", "-r", rid, "-o", output, "-nologo", "-v", "q");
        Assert.True(code == 0, $"dotnet publish -r {rid} failed:\n{log}");

        var natives = Directory.GetFiles(output, "*.so*", SearchOption.AllDirectories);
        foreach (var so in natives)
        {
            Assert.True(ElfMachine(so) == elfMachine, $"{Path.GetFileName(so)} is not built for {rid} (ELF machine {ElfMachine(so)})");
        }
        var names = natives.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        // ONNX Runtime and the one imaging library (JPEG 2000, PNG, JPEG encode): what the managed code P/Invokes.
        foreach (var required in RequiredNatives(rid))
        {
            Assert.True(names.Contains(required), $"{required} missing from the {rid} publish; it has: {string.Join(", ", names.Order())}");
        }
        // ReadyToRun: our assemblies carry precompiled code (a managed-native header), so a cold worker JITs little.
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(Path.Combine(output, "Histoscale.Slides.dll")));
        Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"Histoscale.Slides.dll in the {rid} publish is not ReadyToRun");
    }

    private static IEnumerable<string> RequiredNatives(string rid)
    {
        var arch = rid.EndsWith("arm64", StringComparison.Ordinal) ? "arm64" : "x64";
        yield return "libonnxruntime.so";
        yield return $"Magick.Native-Q8-{arch}.dll.so";
    }

    private static ushort ElfMachine(string path)
    {
        Span<byte> header = stackalloc byte[20];
        using var f = File.OpenRead(path);
        f.ReadExactly(header);
        Assert.True(header[0] == 0x7F && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F', $"{path} is not an ELF file");
        return BitConverter.ToUInt16(header[18..20]);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Histoscale.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Histoscale.slnx not found above the test's folder");
    }

    private static (int Code, string Log) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "timed out after 8 minutes");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
