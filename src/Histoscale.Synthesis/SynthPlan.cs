using System.Globalization;
using Histoscale.Slides.Tiff;
using Histoscale.Slides.Writing;

namespace Histoscale.Synthesis;

/// <summary>
/// The geometry of a synthetic slide for one layout: the chain of 2x levels to compute, which of them become
/// pages, which one is kept whole for the thumbnail, and the Aperio-style descriptions.
/// </summary>
internal sealed class SynthPlan
{
    public const int ThumbnailMax = 1024;
    public const int LabelWidth = 460;
    public const int LabelHeight = 420;
    public const int MacroWidth = 1600;
    public const int MacroHeight = 560;
    private const string AperioVersion = "Aperio Image Library v12.0.15";

    public SynthPlan(SynthOptions o)
    {
        Options = o;
        var chain = new List<(int Width, int Height)> { (o.Width, o.Height) };
        while (chain[^1].Width >= 2 && chain[^1].Height >= 2 && Math.Max(chain[^1].Width, chain[^1].Height) > 1)
        {
            chain.Add((chain[^1].Width / 2, chain[^1].Height / 2));
        }
        var written = new List<int> { 0 };
        // libvips stops once a level fits one tile; Aperio steps by 4 until a level spans about two tiles.
        var step = o.Layout == SynthLayout.Svs ? 2 : 1;
        var stopAt = o.Layout == SynthLayout.Svs ? 2 * o.TileSize : o.TileSize;
        while (Longest(chain[written[^1]]) > stopAt && written[^1] + step < chain.Count)
        {
            written.Add(written[^1] + step);
        }
        WrittenLevels = written;
        var longest = Longest(chain[0]);
        var thumbLongest = Math.Min(ThumbnailMax, longest);
        ThumbnailSize = (Math.Max(1, (int)Math.Round((double)o.Width * thumbLongest / longest)), Math.Max(1, (int)Math.Round((double)o.Height * thumbLongest / longest)));
        CaptureLevel = -1;
        if (o.Layout == SynthLayout.Svs)
        {
            CaptureLevel = 0;
            while (CaptureLevel + 1 < chain.Count && Longest(chain[CaptureLevel + 1]) >= thumbLongest)
            {
                CaptureLevel++;
            }
        }
        Chain = chain.Take(Math.Max(written[^1], CaptureLevel) + 1).ToList();
    }

    public SynthOptions Options { get; }

    /// <summary>Sizes of every 2x level computed, level 0 first.</summary>
    public IReadOnlyList<(int Width, int Height)> Chain { get; }

    /// <summary>Indices into <see cref="Chain"/> of the levels written as pyramid pages.</summary>
    public IReadOnlyList<int> WrittenLevels { get; }

    /// <summary>Chain level kept whole and resized into the thumbnail; -1 when the layout has none.</summary>
    public int CaptureLevel { get; }

    public (int Width, int Height) ThumbnailSize { get; }

    public TiffPageOptions LevelPage(int chainIndex)
    {
        var o = Options;
        var (w, h) = Chain[chainIndex];
        var pixelsPerCm = 1e4 / o.Mpp / (1 << chainIndex);
        return new TiffPageOptions
        {
            Width = w,
            Height = h,
            TileWidth = o.TileSize,
            Compression = o.Compression,
            HorizontalPredictor = o.Compression == TiffWriteCompression.Deflate,
            JpegQuality = o.Quality,
            JpegEncoder = o.JpegEncoder,
            NewSubfileType = chainIndex == 0 ? 0 : 1,
            Software = chainIndex == 0 ? "Histoscale synth" : null,
            Description = o.Layout == SynthLayout.Svs ? AperioLevelDescription(w, h) : null,
            PixelsPerCmX = o.Layout == SynthLayout.Svs ? null : pixelsPerCm,
        };
    }

    public TiffPageOptions ThumbnailPage() => new()
    {
        Width = ThumbnailSize.Width,
        Height = ThumbnailSize.Height,
        Compression = TiffWriteCompression.Jpeg,
        JpegQuality = Options.Quality,
        JpegEncoder = Options.JpegEncoder,
        Description = $"{AperioVersion} \r\n{Options.Width}x{Options.Height} -> {ThumbnailSize.Width}x{ThumbnailSize.Height} - {AperioProperties()}",
    };

    public TiffPageOptions LabelPage() => new()
    {
        Width = LabelWidth,
        Height = LabelHeight,
        Compression = TiffWriteCompression.Lzw,
        NewSubfileType = 1,
        Description = $"{AperioVersion}\nlabel {LabelWidth}x{LabelHeight}",
    };

    public TiffPageOptions MacroPage() => new()
    {
        Width = MacroWidth,
        Height = MacroHeight,
        Compression = TiffWriteCompression.Jpeg,
        JpegQuality = Options.Quality,
        JpegEncoder = Options.JpegEncoder,
        NewSubfileType = 9,
        Description = $"{AperioVersion}\nmacro {MacroWidth}x{MacroHeight}",
    };

    private string AperioLevelDescription(int w, int h)
    {
        var o = Options;
        var head = $"{AperioVersion} \r\n{o.Width}x{o.Height} [0,0 {o.Width}x{o.Height}] ({o.TileSize}x{o.TileSize})";
        var codec = $"{CodecName} Q={o.Quality}";
        return w == o.Width ? $"{head} {codec}{AperioProperties()}" : $"{head} -> {w}x{h} {codec}";
    }

    private string CodecName => Options.Compression switch
    {
        TiffWriteCompression.Jpeg => "JPEG/RGB",
        TiffWriteCompression.Lzw => "LZW/RGB",
        TiffWriteCompression.Deflate => "ZIP/RGB",
        _ => "RAW/RGB",
    };

    /// <summary>Aperio's key = value list; fixed date and time keep the output reproducible.</summary>
    private string AperioProperties()
    {
        var o = Options;
        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"|AppMag = 20|StripeWidth = 2040|ScanScope ID = SS1234|Filename = synth|Date = 01/02/25|Time = 12:00:00|Time Zone = GMT+00:00|User = histoscale|MPP = {o.Mpp:F4}|Left = 25.000000|Top = 18.000000|LineCameraSkew = 0.000000|LineAreaXOffset = 0.000000|LineAreaYOffset = 0.000000|Focus Offset = 0.000000|ImageID = {o.Seed}|OriginalWidth = {o.Width}|OriginalHeight = {o.Height}|Filtered = 5|Exposure Time = 109|Exposure Scale = 0.000001|DisplayColor = 0");
    }

    private static int Longest((int Width, int Height) s) => Math.Max(s.Width, s.Height);
}
