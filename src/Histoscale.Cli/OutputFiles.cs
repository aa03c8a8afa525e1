using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Cli;

/// <summary>Writes an output image, turning an unwritable destination into a clear input error.</summary>
public static class OutputFiles
{
    public static void Save(RgbaImage image, string path)
    {
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null && !Directory.Exists(dir))
            {
                throw new InputException($"{path}: output folder does not exist");
            }
            // Write beside and rename, so an interrupted write never leaves a half image under the final name.
            var temp = path + ".tmp" + Environment.ProcessId;
            ImageFiles.Save(image, temp + Path.GetExtension(path));
            File.Move(temp + Path.GetExtension(path), path, overwrite: true);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot write (permission denied)");
        }
        catch (IOException ex)
        {
            throw new InputException($"{path}: cannot write ({ex.Message})");
        }
    }

    /// <summary>Writes <paramref name="text"/> beside <paramref name="path"/> and renames it there: a reader never sees half a file.</summary>
    public static void WriteText(string path, string text)
    {
        var temp = path + ".tmp" + Environment.ProcessId;
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new InputException($"{path}: cannot write ({ex.Message})");
        }
    }
}
