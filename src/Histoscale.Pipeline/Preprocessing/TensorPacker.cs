using System.Runtime.InteropServices;
using Histoscale.Inference.Config;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;

namespace Histoscale.Pipeline.Preprocessing;

/// <summary>
/// Writes an RGBA tile straight into its slot of a batch tensor, in the model's layout (NCHW planes or NHWC
/// pixels), channel order and datatype, normalised as (pixel − mean) / std. Normalisation goes through a 256-entry
/// table per colour in the target type, so a pixel costs three lookups and stores — no per-tile float copy, no
/// division, no allocation. Translucent pixels (slide edges) are painted over white first.
/// </summary>
public sealed class TensorPacker
{
    private readonly float[] _float = new float[3 * 256];
    private readonly Half[] _half = new Half[3 * 256];
    private readonly int[] _sourceChannel;

    public TensorPacker(ModelDescription model, int tileSize)
    {
        TileSize = tileSize;
        DataType = model.ImageInput.DataType;
        Layout = model.Layout;
        var p = model.Parameters;
        // Model channel c reads colour _sourceChannel[c] of the RGBA pixel.
        _sourceChannel = p.ChannelOrder == ChannelOrder.Bgr ? [2, 1, 0] : [0, 1, 2];
        if (DataType is not (TensorDataType.Fp32 or TensorDataType.Fp16 or TensorDataType.UInt8))
        {
            throw new PipelineConfigException(
                $"model '{model.Name}': image input '{model.ImageInput.Name}' is {DataType.ToKServeName()}; the pipeline feeds FP32, FP16 or UINT8");
        }
        var identity = p.Mean.All(m => m == 0) && p.Std.All(s => s == 1);
        if (DataType == TensorDataType.UInt8 && !identity)
        {
            throw new PipelineConfigException(
                $"model '{model.Name}': mean/std normalisation cannot be expressed in a UINT8 input '{model.ImageInput.Name}'; normalise inside the model or use an FP32/FP16 input");
        }
        for (var colour = 0; colour < 3; colour++)
        {
            var inverse = 1f / p.Std[colour];
            for (var v = 0; v < 256; v++)
            {
                var value = (v - p.Mean[colour]) * inverse;
                _float[(colour * 256) + v] = value;
                _half[(colour * 256) + v] = (Half)value;
            }
        }
        ItemBytes = 3 * tileSize * tileSize * DataType.ElementSize();
    }

    public int TileSize { get; }

    public TensorDataType DataType { get; }

    public TensorFormat Layout { get; }

    /// <summary>Bytes one tile takes in the batch tensor.</summary>
    public int ItemBytes { get; }

    /// <summary>Packs <paramref name="rgba"/> (TileSize² × 4 bytes) into item <paramref name="slot"/> of <paramref name="batch"/>.</summary>
    public void Pack(ReadOnlySpan<byte> rgba, Span<byte> batch, int slot)
    {
        var item = batch.Slice(slot * ItemBytes, ItemBytes);
        switch (DataType)
        {
            case TensorDataType.Fp32:
                Pack(rgba, MemoryMarshal.Cast<byte, float>(item), _float);
                break;
            case TensorDataType.Fp16:
                Pack(rgba, MemoryMarshal.Cast<byte, Half>(item), _half);
                break;
            default:
                PackBytes(rgba, item);
                break;
        }
    }

    private void Pack<T>(ReadOnlySpan<byte> rgba, Span<T> item, ReadOnlySpan<T> table) where T : unmanaged
    {
        var plane = TileSize * TileSize;
        var t0 = table.Slice(_sourceChannel[0] * 256, 256);
        var t1 = table.Slice(_sourceChannel[1] * 256, 256);
        var t2 = table.Slice(_sourceChannel[2] * 256, 256);
        int s0 = _sourceChannel[0], s1 = _sourceChannel[1], s2 = _sourceChannel[2];
        if (Layout == TensorFormat.Nhwc)
        {
            for (int p = 0, o = 0; p < plane; p++, o += 3)
            {
                var px = rgba.Slice(p * 4, 4);
                if (px[3] == 255)
                {
                    item[o] = t0[px[s0]];
                    item[o + 1] = t1[px[s1]];
                    item[o + 2] = t2[px[s2]];
                }
                else
                {
                    item[o] = t0[OverWhite(px[s0], px[3])];
                    item[o + 1] = t1[OverWhite(px[s1], px[3])];
                    item[o + 2] = t2[OverWhite(px[s2], px[3])];
                }
            }
            return;
        }
        var c0 = item[..plane];
        var c1 = item.Slice(plane, plane);
        var c2 = item.Slice(2 * plane, plane);
        for (var p = 0; p < plane; p++)
        {
            var px = rgba.Slice(p * 4, 4);
            if (px[3] == 255)
            {
                c0[p] = t0[px[s0]];
                c1[p] = t1[px[s1]];
                c2[p] = t2[px[s2]];
            }
            else
            {
                c0[p] = t0[OverWhite(px[s0], px[3])];
                c1[p] = t1[OverWhite(px[s1], px[3])];
                c2[p] = t2[OverWhite(px[s2], px[3])];
            }
        }
    }

    private void PackBytes(ReadOnlySpan<byte> rgba, Span<byte> item)
    {
        var plane = TileSize * TileSize;
        int s0 = _sourceChannel[0], s1 = _sourceChannel[1], s2 = _sourceChannel[2];
        var nhwc = Layout == TensorFormat.Nhwc;
        for (var p = 0; p < plane; p++)
        {
            var px = rgba.Slice(p * 4, 4);
            var a = px[3];
            var v0 = a == 255 ? px[s0] : OverWhite(px[s0], a);
            var v1 = a == 255 ? px[s1] : OverWhite(px[s1], a);
            var v2 = a == 255 ? px[s2] : OverWhite(px[s2], a);
            if (nhwc)
            {
                item[p * 3] = v0;
                item[(p * 3) + 1] = v1;
                item[(p * 3) + 2] = v2;
            }
            else
            {
                item[p] = v0;
                item[plane + p] = v1;
                item[(2 * plane) + p] = v2;
            }
        }
    }

    private static byte OverWhite(byte value, byte alpha) => (byte)(((value * alpha) + (255 * (255 - alpha)) + 127) / 255);
}
