namespace Histoscale.Slides;

/// <summary>Which file names are slides, for commands that expand folders, globs and bucket prefixes.</summary>
public static class SlideFiles
{
    /// <summary>Whole-slide image extensions (".ome.tif" and ".ome.tiff" end in ".tif"/".tiff").</summary>
    public static IReadOnlySet<string> Extensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".svs", ".tif", ".tiff", ".btf", ".tf8", ".ndpi", ".scn", ".bif", ".vms", ".vmu", ".mrxs", ".dcm", ".qptiff", ".svslide",
    };

    /// <summary>True when a file name or path (or a URI's path) has a slide extension.</summary>
    public static bool HasSlideExtension(string name) => Extensions.Contains(Path.GetExtension(name));
}
