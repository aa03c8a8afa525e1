using System.Buffers.Binary;
using Histoscale.Slides.Tiff;

namespace Histoscale.Slides.Writing;

/// <summary>TIFF Predictor 2: each sample minus the same sample of the pixel to its left, row by row, in place.</summary>
internal static class HorizontalPredictor
{
    public static void Apply(Span<byte> pixels, int width, int rows, int samplesPerPixel, int bitsPerSample)
    {
        var rowBytes = width * samplesPerPixel * bitsPerSample / 8;
        for (var y = 0; y < rows; y++)
        {
            var row = pixels.Slice(y * rowBytes, rowBytes);
            switch (bitsPerSample)
            {
                case 8:
                    // Backwards, so every difference uses the original left neighbour.
                    for (var i = row.Length - 1; i >= samplesPerPixel; i--)
                    {
                        row[i] -= row[i - samplesPerPixel];
                    }
                    break;
                case 16:
                    for (var i = (row.Length / 2) - 1; i >= samplesPerPixel; i--)
                    {
                        var cur = BinaryPrimitives.ReadUInt16LittleEndian(row[(i * 2)..]);
                        var left = BinaryPrimitives.ReadUInt16LittleEndian(row[((i - samplesPerPixel) * 2)..]);
                        BinaryPrimitives.WriteUInt16LittleEndian(row[(i * 2)..], (ushort)(cur - left));
                    }
                    break;
                case 32:
                    for (var i = (row.Length / 4) - 1; i >= samplesPerPixel; i--)
                    {
                        var cur = BinaryPrimitives.ReadUInt32LittleEndian(row[(i * 4)..]);
                        var left = BinaryPrimitives.ReadUInt32LittleEndian(row[((i - samplesPerPixel) * 4)..]);
                        BinaryPrimitives.WriteUInt32LittleEndian(row[(i * 4)..], cur - left);
                    }
                    break;
                default:
                    for (var i = (row.Length / 8) - 1; i >= samplesPerPixel; i--)
                    {
                        var cur = BinaryPrimitives.ReadUInt64LittleEndian(row[(i * 8)..]);
                        var left = BinaryPrimitives.ReadUInt64LittleEndian(row[((i - samplesPerPixel) * 8)..]);
                        BinaryPrimitives.WriteUInt64LittleEndian(row[(i * 8)..], cur - left);
                    }
                    break;
            }
        }
    }
}
