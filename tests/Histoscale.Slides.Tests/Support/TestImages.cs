namespace Histoscale.Slides.Tests.Support;

/// <summary>Deterministic textured test images (smooth gradients, discs, noise) that exercise decoders the way tissue does.</summary>
public static class TestImages
{
    public static RgbaImage Textured(int width, int height, int seed = 1)
    {
        var rng = new Random(seed);
        var pixels = new byte[width * height * 4];
        var discs = Enumerable.Range(0, Math.Max(4, width * height / 20000))
            .Select(_ => (X: rng.Next(width), Y: rng.Next(height), R: rng.Next(5, 40), C: (byte)rng.Next(60, 200)))
            .ToArray();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = ((y * width) + x) * 4;
                pixels[o] = (byte)(200 + (40 * Math.Sin(x / 37.0)));
                pixels[o + 1] = (byte)(150 + (60 * Math.Cos(y / 23.0)));
                pixels[o + 2] = (byte)(180 + (30 * Math.Sin((x + y) / 51.0)));
                pixels[o + 3] = 255;
            }
        }
        foreach (var d in discs)
        {
            for (var y = Math.Max(0, d.Y - d.R); y < Math.Min(height, d.Y + d.R); y++)
            {
                for (var x = Math.Max(0, d.X - d.R); x < Math.Min(width, d.X + d.R); x++)
                {
                    if (((x - d.X) * (x - d.X)) + ((y - d.Y) * (y - d.Y)) <= d.R * d.R)
                    {
                        var o = ((y * width) + x) * 4;
                        pixels[o] = (byte)(d.C / 2);
                        pixels[o + 1] = (byte)(d.C / 3);
                        pixels[o + 2] = d.C;
                    }
                }
            }
        }
        for (var i = 0; i < pixels.Length; i += 4)
        {
            pixels[i] = (byte)Math.Clamp(pixels[i] + rng.Next(-6, 7), 0, 255);
        }
        return new RgbaImage(width, height, pixels);
    }
}
