using System.Globalization;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>
/// Aperio SVS. Quirks kept here as data: the first directory's ImageDescription starts with "Aperio" and carries
/// "key = value" pairs after '|' (aperio.*); tiled directories are levels; the second directory, stripped, is the
/// thumbnail; later stripped directories are the label and macro, named by their ImageDescription
/// (NewSubfileType 1 = label and 9 = macro as a fallback).
/// </summary>
internal sealed class AperioFormat : ISlideFormat
{
    public string Name => "aperio";

    public IReadOnlyList<string> Extensions { get; } = [".svs"];

    public SlideLayout? TryOpen(SlideProbe probe)
    {
        if (probe.Tiff is not { } tiff)
        {
            return null;
        }
        var first = tiff.Directories[0];
        var description = first.GetString(TiffTag.ImageDescription);
        if (description is null || !description.StartsWith("Aperio", StringComparison.Ordinal))
        {
            return null;
        }
        var levels = new List<ITiledImage>();
        var associated = new Dictionary<string, ITiledImage>();
        foreach (var dir in tiff.Directories)
        {
            if (dir.IsTiled)
            {
                levels.Add(TiffImage.Open(dir, levels.Count, null, probe.JpegSimd));
                continue;
            }
            var name = dir.Index == 1 ? "thumbnail" : AssociatedName(dir);
            if (name is not null && !associated.ContainsKey(name))
            {
                associated[name] = TiffImage.Open(dir, null, name, probe.JpegSimd);
            }
        }
        if (levels.Count == 0)
        {
            throw new SlideException(tiff.Name, "Aperio file has no tiled levels");
        }
        var properties = new Dictionary<string, string>();
        TiffProperties.Add(first, properties);
        properties["openslide.comment"] = description;
        foreach (var item in description.Split('|').Skip(1))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                properties[$"aperio.{item[..eq].Trim()}"] = item[(eq + 1)..].Trim();
            }
        }
        var mpp = Parse(properties, "aperio.MPP");
        return new SlideLayout
        {
            Vendor = Name,
            Levels = levels,
            AssociatedImages = associated,
            Properties = properties,
            MppX = mpp,
            MppY = mpp,
            ObjectivePower = Parse(properties, "aperio.AppMag"),
        };
    }

    private static string? AssociatedName(TiffDirectory dir)
    {
        var description = dir.GetString(TiffTag.ImageDescription) ?? "";
        // Aperio writes "Aperio Image Library vX\r\nlabel 560x464" (the kind is the first word of the second line)
        foreach (var line in description.Split('\n'))
        {
            var word = line.Trim().Split(' ', 2)[0].ToLowerInvariant();
            if (word is "label" or "macro")
            {
                return word;
            }
        }
        return dir.NewSubfileType switch
        {
            1 => "label",
            9 => "macro",
            _ => null,
        };
    }

    private static double? Parse(Dictionary<string, string> properties, string key) =>
        properties.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v)
            ? v
            : null;
}
