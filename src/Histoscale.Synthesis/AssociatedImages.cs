using ImageMagick;

namespace Histoscale.Synthesis;

/// <summary>Small RGB pictures that ride along with an Aperio-like slide: label and macro (slide photo).</summary>
internal static class AssociatedImages
{
    /// <summary>A white slide label with a 1-D barcode, a 2-D matrix code and lines of "text" blocks.</summary>
    public static byte[] Label(int width, int height, uint seed)
    {
        var rgb = new byte[width * height * 3];
        rgb.AsSpan().Fill(250);
        var h = SynthNoise.Hash(3, 5, seed ^ 0x1ABE1u);
        int Next(int n)
        {
            h = SynthNoise.Next(h);
            return (int)(SynthNoise.Unit(h) * n);
        }
        void Box(int x0, int y0, int w, int h0, byte v)
        {
            for (var y = Math.Max(0, y0); y < Math.Min(height, y0 + h0); y++)
            {
                rgb.AsSpan(((y * width) + Math.Max(0, x0)) * 3, Math.Max(0, (Math.Min(width, x0 + w) - Math.Max(0, x0)) * 3)).Fill(v);
            }
        }
        // 1-D barcode across the top.
        var x = width / 10;
        while (x < width * 9 / 10)
        {
            var bar = 1 + Next(4);
            Box(x, height / 12, bar * 2, height / 5, 20);
            x += (bar * 2) + 2 + (Next(3) * 2);
        }
        // 2-D matrix code.
        var cells = 14;
        var cell = Math.Max(2, Math.Min(width, height) / 3 / cells);
        var mx = width / 10;
        var my = height * 2 / 5;
        for (var cy = 0; cy < cells; cy++)
        {
            for (var cx = 0; cx < cells; cx++)
            {
                var finder = cx == 0 || cy == cells - 1 || (cy == 0 && cx % 2 == 0) || (cx == cells - 1 && cy % 2 == 1);
                if (finder || Next(2) == 0)
                {
                    Box(mx + (cx * cell), my + (cy * cell), cell, cell, 15);
                }
            }
        }
        // Three lines of handwriting-like blocks to the right of the matrix.
        for (var line = 0; line < 3; line++)
        {
            var tx = mx + (cells * cell) + (width / 20);
            var ty = my + (line * height / 9);
            while (tx < width * 9 / 10)
            {
                var glyph = 3 + Next(8);
                Box(tx, ty + Next(3), glyph, height / 18, 40);
                tx += glyph + 3 + (Next(5) == 0 ? 10 : 0);
            }
        }
        return rgb;
    }

    /// <summary>
    /// A photo of the whole glass slide: dark surround, glass, the label at the left end and the tissue
    /// thumbnail laid on the glass (multiplied, like stained tissue over glass).
    /// </summary>
    public static byte[] Macro(int width, int height, byte[] thumb, int thumbW, int thumbH, byte[] label, int labelW, int labelH, uint seed)
    {
        var rgb = new byte[width * height * 3];
        var glassX0 = width / 40;
        var glassY0 = height / 12;
        var glassX1 = width - (width / 40);
        var glassY1 = height - (height / 12);
        var labelEnd = glassX0 + ((glassX1 - glassX0) / 4);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var n = SynthNoise.Unit(SynthNoise.Hash(x, y, seed ^ 0x3AC20u)) * 6;
                var o = ((y * width) + x) * 3;
                var inGlass = x >= glassX0 && x < glassX1 && y >= glassY0 && y < glassY1;
                var (r, g, b) = inGlass ? (222f, 226f, 224f) : (38f, 40f, 42f);
                rgb[o] = (byte)(r + n);
                rgb[o + 1] = (byte)(g + n);
                rgb[o + 2] = (byte)(b + n);
            }
        }
        var labelArea = (W: labelEnd - glassX0 - 8, H: glassY1 - glassY0 - 8);
        Paste(rgb, width, Resize(label, labelW, labelH, labelArea.W, labelArea.H), labelArea.W, labelArea.H, glassX0 + 4, glassY0 + 4, multiply: false);
        var room = (W: glassX1 - labelEnd - 20, H: glassY1 - glassY0 - 20);
        var scale = Math.Min((double)room.W / thumbW, (double)room.H / thumbH);
        var tw = Math.Max(1, (int)(thumbW * scale));
        var th = Math.Max(1, (int)(thumbH * scale));
        Paste(rgb, width, Resize(thumb, thumbW, thumbH, tw, th), tw, th, labelEnd + 10 + ((room.W - tw) / 2), glassY0 + 10 + ((room.H - th) / 2), multiply: true);
        return rgb;
    }

    /// <summary>High-quality RGB resize through ImageMagick (cubic, Mitchell), to exactly the size asked for.</summary>
    public static byte[] Resize(byte[] rgb, int width, int height, int newWidth, int newHeight)
    {
        using var image = new MagickImage(rgb, new PixelReadSettings((uint)width, (uint)height, StorageType.Char, "RGB"));
        image.Resize(new MagickGeometry((uint)newWidth, (uint)newHeight) { IgnoreAspectRatio = true }, FilterType.Mitchell);
        using var pixels = image.GetPixelsUnsafe();
        return pixels.ToByteArray("RGB") ?? throw new InvalidOperationException("ImageMagick returned no pixels");
    }

    private static void Paste(byte[] target, int targetW, byte[] source, int w, int h, int x0, int y0, bool multiply)
    {
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var s = ((y * w) + x) * 3;
                var t = (((y0 + y) * targetW) + x0 + x) * 3;
                for (var c = 0; c < 3; c++)
                {
                    target[t + c] = multiply ? (byte)(target[t + c] * source[s + c] / 242) : source[s + c];
                }
            }
        }
    }
}
