namespace Histoscale.Pipeline.Outputs;

/// <summary>
/// Writes a file beside its final name and renames it into place once complete and flushed to disk, so a reader
/// (or a rerun after a crash) never sees a half-written file under the final name.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Suffix of in-progress files; leftovers from a killed run are overwritten by the next.</summary>
    public const string TempSuffix = ".partial";

    public static void Write(string path, Action<FileStream> write)
    {
        var temp = path + TempSuffix;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteText(string path, Action<TextWriter> write) => Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        write(writer);
        writer.Flush();
    });

    public static void WriteAllText(string path, string text) => WriteText(path, w => w.Write(text));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
