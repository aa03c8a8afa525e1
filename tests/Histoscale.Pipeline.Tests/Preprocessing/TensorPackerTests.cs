using System.Runtime.InteropServices;
using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Preprocessing;

namespace Histoscale.Pipeline.Tests.Preprocessing;

/// <summary>The packer (SIMD groups plus the scalar remainder) equals the definition pixel by pixel.</summary>
public sealed class TensorPackerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("histoscale-packer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(TensorDataType.UInt8, ChannelOrder.Rgb, 20)]
    [InlineData(TensorDataType.Fp32, ChannelOrder.Rgb, 20)]
    [InlineData(TensorDataType.Fp32, ChannelOrder.Bgr, 21)]
    [InlineData(TensorDataType.Fp16, ChannelOrder.Rgb, 20)]
    public void PackedTileEqualsTheDefinition(TensorDataType type, ChannelOrder order, int tile)
    {
        var uint8 = type == TensorDataType.UInt8;
        var model = ModelDescription.Load(
            ModelRepositoryWriter.Write(_dir, DemoModels.MeanIntensity(type, tile, name: $"m{type}{order}{tile}")),
            new ModelOverrides
            {
                ChannelOrder = order,
                Mean = uint8 ? null : [123.7f, 116.3f, 103.5f],
                Std = uint8 ? null : [58.4f, 57.1f, 57.4f],
            });
        var packer = new TensorPacker(model, tile);
        var rng = new Random(3);
        var rgba = new byte[tile * tile * 4];
        rng.NextBytes(rgba);
        for (var p = 0; p < tile * tile; p++)
        {
            rgba[(p * 4) + 3] = p % 37 == 0 ? (byte)rng.Next(255) : p % 53 == 0 ? (byte)0 : (byte)255; // some edge pixels
        }
        var batch = new byte[packer.ItemBytes * 2];
        packer.Pack(rgba, batch, 1);
        Assert.All(batch[..packer.ItemBytes], b => Assert.Equal(0, b)); // slot 0 untouched
        var plane = tile * tile;
        var p0 = model.Parameters;
        int[] colours = order == ChannelOrder.Bgr ? [2, 1, 0] : [0, 1, 2];
        for (var p = 0; p < plane; p++)
        {
            var a = rgba[(p * 4) + 3];
            for (var c = 0; c < 3; c++)
            {
                var colour = colours[c];
                var v = rgba[(p * 4) + colour];
                if (a != 255)
                {
                    v = (byte)(((v * a) + (255 * (255 - a)) + 127) / 255);
                }
                var at = (c * plane) + p;
                var slot = batch.AsSpan(packer.ItemBytes);
                switch (type)
                {
                    case TensorDataType.UInt8:
                        Assert.Equal(v, slot[at]);
                        break;
                    case TensorDataType.Fp32:
                        Assert.Equal((v - p0.Mean[colour]) * (1f / p0.Std[colour]), MemoryMarshal.Cast<byte, float>(slot)[at]);
                        break;
                    default:
                        Assert.Equal((Half)((v - p0.Mean[colour]) * (1f / p0.Std[colour])), MemoryMarshal.Cast<byte, Half>(slot)[at]);
                        break;
                }
            }
        }
    }

    [Theory]
    [InlineData(TensorDataType.UInt8, ChannelOrder.Rgb, 20)]
    [InlineData(TensorDataType.UInt8, ChannelOrder.Bgr, 20)]
    [InlineData(TensorDataType.Fp32, ChannelOrder.Rgb, 21)]
    [InlineData(TensorDataType.Fp32, ChannelOrder.Bgr, 40)]
    public void PlanesPackToTheSameTensorAsTheirRgbaPixels(TensorDataType type, ChannelOrder order, int tile)
    {
        var uint8 = type == TensorDataType.UInt8;
        var model = ModelDescription.Load(
            ModelRepositoryWriter.Write(_dir, DemoModels.MeanIntensity(type, tile, name: $"p{type}{order}{tile}")),
            new ModelOverrides
            {
                ChannelOrder = order,
                Mean = uint8 ? null : [123.7f, 116.3f, 103.5f],
                Std = uint8 ? null : [58.4f, 57.1f, 57.4f],
            });
        var packer = new TensorPacker(model, tile);
        Assert.True(packer.TakesPlanes);
        var plane = tile * tile;
        var planes = new byte[3 * plane];
        new Random(9).NextBytes(planes);
        var rgba = new byte[plane * 4];
        for (var p = 0; p < plane; p++)
        {
            rgba[p * 4] = planes[p];
            rgba[(p * 4) + 1] = planes[plane + p];
            rgba[(p * 4) + 2] = planes[(2 * plane) + p];
            rgba[(p * 4) + 3] = 255;
        }
        var fromRgba = new byte[packer.ItemBytes * 2];
        packer.Pack(rgba, fromRgba, 1);
        var fromPlanes = new byte[packer.ItemBytes * 2];
        packer.PackPlanes(planes, fromPlanes, 1);
        Assert.Equal(fromRgba, fromPlanes);
        if (uint8)
        {
            // Decoding straight into the tensor: the slot's planes, in the model's channel order.
            var direct = new byte[packer.ItemBytes * 2];
            packer.SlotPlanes(direct, 1, out var red, out var green, out var blue);
            planes.AsSpan(0, plane).CopyTo(red);
            planes.AsSpan(plane, plane).CopyTo(green);
            planes.AsSpan(2 * plane, plane).CopyTo(blue);
            Assert.Equal(fromRgba, direct);
        }
    }
}
