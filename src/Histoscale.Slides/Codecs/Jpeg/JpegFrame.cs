namespace Histoscale.Slides.Codecs.Jpeg;

/// <summary>One image component: what the frame and scan headers say, and where its samples live in the planes.</summary>
internal struct JpegComponent
{
    public int Id;
    public int H;
    public int V;
    public int QuantTable;
    public int DcTable;
    public int AcTable;

    /// <summary>Real samples per row and rows (libjpeg's downsampled_width/height): the edges fancy upsampling replicates.</summary>
    public int Width;
    public int Height;

    /// <summary>Blocks the scan codes per row and per column, dummy blocks of partial MCUs included.</summary>
    public int BlocksX;
    public int BlocksY;

    public int PlaneOffset;
    public int PlaneStride;

    /// <summary>Upsampling factors to full size: 1 or 2 each.</summary>
    public int ScaleX;
    public int ScaleY;
}

/// <summary>
/// Everything one decode needs, kept per thread and reused so a tile allocates nothing: the tables the markers
/// define, the frame and scan headers, and the sample planes.
/// </summary>
internal sealed class JpegFrame
{
    /// <summary>Planes larger than this are rented per decode rather than kept by the thread.</summary>
    private const int RetainedPlaneBytes = 4 << 20;

    [ThreadStatic]
    private static JpegFrame? current;

    public readonly HuffmanTable[] DcTables = [new(), new(), new(), new()];
    public readonly HuffmanTable[] AcTables = [new(), new(), new(), new()];

    /// <summary>Four quantisation tables in natural order, 64 entries each.</summary>
    public readonly int[] Quant = new int[4 * 64];
    public readonly bool[] QuantDefined = new bool[4];

    public readonly JpegComponent[] Components = new JpegComponent[3];

    /// <summary>Frame component indices in scan (MCU) order.</summary>
    public readonly int[] ScanOrder = new int[3];

    /// <summary>Coefficients of the block being decoded, natural order; kept all-zero between blocks.</summary>
    public readonly short[] Block = new short[64];

    public byte[] Planes = [];
    public short[] ColumnSums = [];
    public byte[] Rows = [];

    public int Width;
    public int Height;
    public int ComponentCount;
    public int MaxH;
    public int MaxV;
    public int McusX;
    public int McusY;
    public int RestartInterval;
    public bool SawJfif;
    public bool SawAdobe;
    public int AdobeTransform;

    /// <summary>True when three components are R, G, B already (libjpeg's JCS_RGB), false for YCbCr.</summary>
    public bool IsRgb;

    public static JpegFrame ForThisThread() => current ??= new JpegFrame();

    public void Reset()
    {
        foreach (var t in DcTables)
        {
            t.Usable = false;
        }
        foreach (var t in AcTables)
        {
            t.Usable = false;
        }
        Array.Clear(QuantDefined);
        Array.Clear(Block); // a decode abandoned mid-block leaves coefficients behind
        Width = Height = ComponentCount = 0;
        RestartInterval = 0;
        SawJfif = SawAdobe = false;
        AdobeTransform = 0;
    }

    /// <summary>
    /// Works out block counts, plane layout and upsampling from the headers; false for layouts we leave to
    /// libjpeg (sampling other than 4:4:4, 4:2:2 and 4:2:0, tiny chroma widths where libjpeg does not upsample
    /// smoothly, absurd sizes).
    /// </summary>
    public bool Layout()
    {
        MaxH = MaxV = 1;
        for (var i = 0; i < ComponentCount; i++)
        {
            MaxH = Math.Max(MaxH, Components[i].H);
            MaxV = Math.Max(MaxV, Components[i].V);
        }
        if (ComponentCount == 1)
        {
            // A single-component scan is not interleaved: one block per MCU whatever the sampling factors say.
            ref var c = ref Components[0];
            c.Width = Width;
            c.Height = Height;
            c.BlocksX = (Width + 7) >> 3;
            c.BlocksY = (Height + 7) >> 3;
            c.ScaleX = c.ScaleY = 1;
            McusX = c.BlocksX;
            McusY = c.BlocksY;
        }
        else
        {
            McusX = (Width + (8 * MaxH) - 1) / (8 * MaxH);
            McusY = (Height + (8 * MaxV) - 1) / (8 * MaxV);
            var blocksInMcu = 0;
            for (var i = 0; i < ComponentCount; i++)
            {
                ref var c = ref Components[i];
                if (MaxH % c.H != 0 || MaxV % c.V != 0)
                {
                    return false;
                }
                c.ScaleX = MaxH / c.H;
                c.ScaleY = MaxV / c.V;
                if (!((c.ScaleX == 1 && c.ScaleY == 1) || (c.ScaleX == 2 && c.ScaleY is 1 or 2)))
                {
                    return false; // 4:4:0, 4:1:1 and other ratios: libjpeg's other upsamplers
                }
                c.Width = (int)(((long)Width * c.H + MaxH - 1) / MaxH);
                c.Height = (int)(((long)Height * c.V + MaxV - 1) / MaxV);
                if (c.ScaleX == 2 && c.Width <= 2)
                {
                    return false; // libjpeg replicates instead of filtering such narrow chroma
                }
                c.BlocksX = McusX * c.H;
                c.BlocksY = McusY * c.V;
                blocksInMcu += c.H * c.V;
            }
            if (blocksInMcu > 10)
            {
                return false;
            }
        }
        long total = 0;
        var widest = 0;
        for (var i = 0; i < ComponentCount; i++)
        {
            ref var c = ref Components[i];
            c.PlaneStride = c.BlocksX * 8;
            c.PlaneOffset = (int)Math.Min(total, int.MaxValue);
            total += (long)c.PlaneStride * c.BlocksY * 8;
            widest = Math.Max(widest, c.PlaneStride);
        }
        if (total > 256 << 20)
        {
            return false;
        }
        // Slack after the planes and rows: vector loops read a little past the last sample they use.
        var planeBytes = (int)total + 64;
        if (Planes.Length < planeBytes)
        {
            Planes = new byte[planeBytes];
        }
        var rowBytes = (3 * ((2 * widest) + 64)) + 64;
        if (Rows.Length < rowBytes)
        {
            Rows = new byte[rowBytes];
        }
        if (ColumnSums.Length < widest + 64)
        {
            ColumnSums = new short[widest + 64];
        }
        return true;
    }

    /// <summary>Lets go of buffers too large to keep per thread.</summary>
    public void Trim()
    {
        if (Planes.Length > RetainedPlaneBytes)
        {
            Planes = [];
        }
        if (Rows.Length > RetainedPlaneBytes / 8)
        {
            Rows = [];
            ColumnSums = [];
        }
    }
}
