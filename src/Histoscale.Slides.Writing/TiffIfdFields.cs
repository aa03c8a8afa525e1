using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>The tags of one written page, sorted by tag number as TIFF requires.</summary>
internal static class TiffIfdFields
{
    /// <param name="page">The page whose tags are built.</param>
    /// <param name="bigTiff">Whether the file is BigTIFF (tag value types and sizes differ).</param>
    /// <param name="subIfdOffsets">Real SubIFD offsets, or null while only sizes are being measured.</param>
    public static List<TiffField> Build(TiffPageWriter page, bool bigTiff, long[]? subIfdOffsets)
    {
        var o = page.Options;
        var spp = o.SamplesPerPixel;
        var f = new List<TiffField>
        {
            TiffField.Long(TiffTag.NewSubfileType, o.NewSubfileType),
            TiffField.Long(TiffTag.ImageWidth, o.Width),
            TiffField.Long(TiffTag.ImageLength, o.Height),
            TiffField.Short(TiffTag.BitsPerSample, Repeat(o.BitsPerSample, spp)),
            TiffField.Short(TiffTag.Compression, page.CompressionCode),
            TiffField.Short(TiffTag.Photometric, o.EffectivePhotometric),
            TiffField.Short(TiffTag.SamplesPerPixel, spp),
            TiffField.Short(TiffTag.PlanarConfig, 1), // chunky: samples interleaved
            TiffField.Short(TiffTag.SampleFormat, Repeat((int)o.SampleFormat, spp)),
        };
        if (o.Description is not null)
        {
            f.Add(TiffField.Ascii(TiffTag.ImageDescription, o.Description));
        }
        if (o.Software is not null)
        {
            f.Add(TiffField.Ascii(TiffTag.Software, o.Software));
        }
        if (o.DateTime is { } t)
        {
            f.Add(TiffField.Ascii(TiffTag.DateTime, TiffField.FormatDateTime(t)));
        }
        if (o.PixelsPerCmX is { } rx)
        {
            f.Add(TiffField.Rational(TiffTag.XResolution, rx));
            f.Add(TiffField.Rational(TiffTag.YResolution, o.PixelsPerCmY ?? rx));
            f.Add(TiffField.Short(TiffTag.ResolutionUnit, 3)); // centimetre
        }
        if (o.HorizontalPredictor)
        {
            f.Add(TiffField.Short(TiffTag.Predictor, 2));
        }
        if (o.IsTiled)
        {
            f.Add(TiffField.Long(TiffTag.TileWidth, o.TileWidth));
            f.Add(TiffField.Long(TiffTag.TileLength, o.EffectiveTileHeight));
            f.Add(TiffField.Offsets(TiffTag.TileOffsets, page.Offsets, bigTiff));
            f.Add(TiffField.Offsets(TiffTag.TileByteCounts, page.ByteCounts, bigTiff));
        }
        else
        {
            f.Add(TiffField.Long(TiffTag.RowsPerStrip, page.RowsPerStrip));
            f.Add(TiffField.Offsets(TiffTag.StripOffsets, page.Offsets, bigTiff));
            f.Add(TiffField.Offsets(TiffTag.StripByteCounts, page.ByteCounts, bigTiff));
        }
        if (page.SubIfds.Count > 0)
        {
            var offsets = subIfdOffsets ?? new long[page.SubIfds.Count];
            f.Add(bigTiff ? TiffField.Long8(TiffTag.SubIfds, TiffType.Ifd8, offsets) : TiffField.Long(TiffTag.SubIfds, offsets) with { Type = TiffType.Ifd });
        }
        if (spp == 4)
        {
            f.Add(TiffField.Short(TiffTag.ExtraSamples, o.ExtraSample));
        }
        if (page.JpegTables is { } tables && page.CompressionCode == TiffCompression.Jpeg)
        {
            f.Add(TiffField.Undefined(TiffTag.JpegTables, tables));
        }
        if (o.EffectivePhotometric == TiffPhotometric.YCbCr && page.CompressionCode == TiffCompression.Jpeg)
        {
            f.Add(TiffField.Short(TiffTag.YCbCrSubSampling, 2, 2));
        }
        f.Sort((a, b) => a.Tag.CompareTo(b.Tag));
        return f;
    }

    private static int[] Repeat(int value, int count) => Enumerable.Repeat(value, count).ToArray();
}
