using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>
/// Any tiled pyramidal TIFF or BigTIFF: levels as pages of the main chain (as libvips writes them) and/or as
/// SubIFDs of the first page (OME-TIFF style, which OpenSlide 3.4 does not see). Levels are ordered by size.
/// </summary>
internal sealed class GenericTiffFormat : ISlideFormat
{
    /// <summary>A resolution coarser than this is a placeholder (libvips writes 10 px/cm by default), not a scan.</summary>
    internal const double MaxPlausibleMpp = 100;

    public string Name => "generic-tiff";

    /// <summary>TIFF and BigTIFF names (".btf" and ".tf8" are BigTIFF's); Aperio also writes ".tif".</summary>
    public IReadOnlyList<string> Extensions { get; } = [".tif", ".tiff", ".btf", ".tf8"];

    public SlideLayout? TryOpen(SlideProbe probe)
    {
        if (probe.Tiff is not { } tiff)
        {
            return null;
        }
        var first = tiff.Directories[0];
        if (!first.IsTiled)
        {
            throw new SlideException(tiff.Name, "TIFF is not tiled (not a pyramidal whole-slide image)");
        }
        var levels = PyramidLevels(tiff, probe.JpegSimd);
        var properties = new Dictionary<string, string>();
        TiffProperties.Add(first, properties);
        var (mppX, mppY) = TiffProperties.MppFromResolution(first);
        return new SlideLayout
        {
            Vendor = Name,
            Levels = levels,
            Properties = properties,
            MppX = mppX < MaxPlausibleMpp ? mppX : null,
            MppY = mppY < MaxPlausibleMpp ? mppY : null,
        };
    }

    /// <summary>Every tiled directory reachable from the main chain and the first page's SubIFDs, largest first.</summary>
    internal static List<ITiledImage> PyramidLevels(TiffFile tiff, Codecs.Jpeg.JpegSimd jpegSimd)
    {
        var dirs = tiff.Directories.Where(d => d.IsTiled).ToList();
        var subOffsets = tiff.Directories[0].GetLongs(TiffTag.SubIfds, 64);
        for (var i = 0; i < subOffsets.Length; i++)
        {
            var sub = tiff.ReadDirectory(subOffsets[i], tiff.Directories.Count + i);
            if (sub.IsTiled)
            {
                dirs.Add(sub);
            }
        }
        // Sort by width, largest first; keep only images no larger than level 0 with the same aspect (drops
        // unrelated tiled pages such as an overview of another size).
        dirs = [.. dirs.OrderByDescending(d => d.Width).ThenByDescending(d => d.Height)];
        var baseDir = dirs[0];
        var levels = new List<ITiledImage>();
        double lastWidth = double.MaxValue;
        foreach (var dir in dirs)
        {
            if (dir.Width >= lastWidth)
            {
                continue; // duplicate size
            }
            var ratio = (double)baseDir.Width / dir.Width;
            var ratioY = (double)baseDir.Height / dir.Height;
            if (Math.Abs(ratio - ratioY) / ratio > 0.1 && levels.Count > 0)
            {
                continue;
            }
            levels.Add(TiffImage.Open(dir, levels.Count, null, jpegSimd));
            lastWidth = dir.Width;
        }
        return levels;
    }
}
