using System.Globalization;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Formats;

/// <summary>The <c>tiff.*</c> properties OpenSlide exposes for the first directory, with the same spelling.</summary>
internal static class TiffProperties
{
    private static readonly (ushort Tag, string Name)[] Strings =
    [
        (TiffTag.ImageDescription, "ImageDescription"),
        (TiffTag.Make, "Make"),
        (TiffTag.Model, "Model"),
        (TiffTag.Software, "Software"),
        (TiffTag.DateTime, "DateTime"),
        (TiffTag.Artist, "Artist"),
        (TiffTag.HostComputer, "HostComputer"),
        (TiffTag.Copyright, "Copyright"),
        (TiffTag.DocumentName, "DocumentName"),
    ];

    public static void Add(TiffDirectory dir, IDictionary<string, string> properties)
    {
        foreach (var (tag, name) in Strings)
        {
            if (dir.GetString(tag) is { } value)
            {
                properties[$"tiff.{name}"] = value;
            }
        }
        if (dir.GetDouble(TiffTag.XResolution) is { } xres)
        {
            properties["tiff.XResolution"] = FormatG((float)xres); // libtiff hands rationals over as float
        }
        if (dir.GetDouble(TiffTag.YResolution) is { } yres)
        {
            properties["tiff.YResolution"] = FormatG((float)yres);
        }
        if (dir.GetLong(TiffTag.ResolutionUnit) is { } unit)
        {
            properties["tiff.ResolutionUnit"] = unit switch
            {
                1 => "none",
                2 => "inch",
                3 => "centimeter",
                _ => "unknown",
            };
        }
    }

    /// <summary>Microns per pixel from the resolution tags, when they state a physical unit.</summary>
    public static (double? X, double? Y) MppFromResolution(TiffDirectory dir)
    {
        var unit = dir.GetLong(TiffTag.ResolutionUnit) ?? 2;
        var micronsPerUnit = unit switch
        {
            2 => 25400.0,
            3 => 10000.0,
            _ => 0,
        };
        double? Mpp(ushort tag) => micronsPerUnit > 0 && dir.GetDouble(tag) is { } r && r > 0 && double.IsFinite(r) ? micronsPerUnit / r : null;
        return (Mpp(TiffTag.XResolution), Mpp(TiffTag.YResolution));
    }

    /// <summary>C's %.17g (g_ascii_dtostr), which OpenSlide uses to print numbers: shortest form, trailing zeros dropped.</summary>
    public static string FormatG(double value) => value.ToString("G17", CultureInfo.InvariantCulture);
}
