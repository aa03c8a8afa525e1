using System.Runtime.CompilerServices;
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
internal sealed class TensorPacker
{
    private readonly float[] _float = new float[3 * 256];
    private readonly Half[] _half = new Half[3 * 256];
    private readonly int[] _sourceChannel;
    private readonly float[] _mean = new float[3];
    private readonly float[] _inverse = new float[3];

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
            _mean[colour] = p.Mean[colour];
            _inverse[colour] = inverse;
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

    /// <summary>
    /// Whether tiles can arrive as R, G, B planes (see <see cref="PackPlanes"/>): NCHW models with UINT8 or FP32
    /// inputs. Saves the RGBA → planar split; for UINT8 the decoder writes straight into the batch.
    /// </summary>
    public bool TakesPlanes => Layout != TensorFormat.Nhwc && DataType is TensorDataType.UInt8 or TensorDataType.Fp32;

    /// <summary>Whether the tensor's planes are the pixels themselves (UINT8 NCHW): decode into <see cref="SlotPlanes"/>.</summary>
    public bool PlanesAreTensor => TakesPlanes && DataType == TensorDataType.UInt8;

    /// <summary>The red, green and blue planes of item <paramref name="slot"/> of a UINT8 NCHW batch (in the model's channel order).</summary>
    public void SlotPlanes(Span<byte> batch, int slot, out Span<byte> red, out Span<byte> green, out Span<byte> blue)
    {
        if (!PlanesAreTensor)
        {
            throw new InvalidOperationException("only UINT8 NCHW tensors are made of colour planes");
        }
        var plane = TileSize * TileSize;
        var item = batch.Slice(slot * ItemBytes, ItemBytes);
        red = item.Slice(ChannelOf(0) * plane, plane);
        green = item.Slice(ChannelOf(1) * plane, plane);
        blue = item.Slice(ChannelOf(2) * plane, plane);
    }

    /// <summary>
    /// Packs a tile given as opaque R, G, B planes (<paramref name="planes"/>: three TileSize² planes in that
    /// order) into item <paramref name="slot"/>: the same values <see cref="Pack"/> gives for the same pixels.
    /// </summary>
    public void PackPlanes(ReadOnlySpan<byte> planes, Span<byte> batch, int slot)
    {
        var plane = TileSize * TileSize;
        if (!TakesPlanes || planes.Length < 3 * plane)
        {
            throw new ArgumentException("planes too small, or a model layout that does not take planes");
        }
        var item = batch.Slice(slot * ItemBytes, ItemBytes);
        for (var c = 0; c < 3; c++)
        {
            var colour = _sourceChannel[c];
            var source = planes.Slice(colour * plane, plane);
            if (DataType == TensorDataType.UInt8)
            {
                source.CopyTo(item.Slice(c * plane, plane));
            }
            else
            {
                SimdPlanarPacker.Normalise(source, MemoryMarshal.Cast<byte, float>(item).Slice(c * plane, plane), _mean[colour], _inverse[colour], _float.AsSpan(colour * 256, 256));
            }
        }
    }

    /// <summary>The model channel that reads colour <paramref name="colour"/> (0 R, 1 G, 2 B).</summary>
    private int ChannelOf(int colour) => Array.IndexOf(_sourceChannel, colour);

    /// <summary>Packs <paramref name="rgba"/> (TileSize² × 4 bytes) into item <paramref name="slot"/> of <paramref name="batch"/>.</summary>
    public void Pack(ReadOnlySpan<byte> rgba, Span<byte> batch, int slot)
    {
        var item = batch.Slice(slot * ItemBytes, ItemBytes);
        if (Layout != TensorFormat.Nhwc && SimdPlanarPacker.IsSupported && DataType is TensorDataType.UInt8 or TensorDataType.Fp32)
        {
            PackPlanarSimd(rgba, item);
            return;
        }
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

    private void Pack<T>(ReadOnlySpan<byte> rgba, Span<T> item, ReadOnlySpan<T> table) where T : unmanaged =>
        Pack(rgba, item, table, 0, TileSize * TileSize);

    /// <summary>The table loop over pixels [from, to) of the tile: every layout, type and alpha.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Pack<T>(ReadOnlySpan<byte> rgba, Span<T> item, ReadOnlySpan<T> table, int from, int to) where T : unmanaged
    {
        var plane = TileSize * TileSize;
        if (rgba.Length < plane * 4 || item.Length < plane * 3 || from < 0 || from > to || to > plane)
        {
            throw new ArgumentException("tile or batch slot too small, or pixel range outside the tile");
        }
        // Bounds were checked above; the per-pixel loop indexes through refs so the JIT emits no checks.
        ref var src = ref MemoryMarshal.GetReference(rgba);
        ref var dst = ref MemoryMarshal.GetReference(item);
        ref var t0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(table), _sourceChannel[0] * 256);
        ref var t1 = ref Unsafe.Add(ref MemoryMarshal.GetReference(table), _sourceChannel[1] * 256);
        ref var t2 = ref Unsafe.Add(ref MemoryMarshal.GetReference(table), _sourceChannel[2] * 256);
        int s0 = _sourceChannel[0], s1 = _sourceChannel[1], s2 = _sourceChannel[2];
        var nhwc = Layout == TensorFormat.Nhwc;
        // NCHW: channel c of pixel p at c·plane + p; NHWC: at 3p + c.
        var step = nhwc ? 3 : 1;
        var c1 = nhwc ? 1 : plane;
        var c2 = nhwc ? 2 : 2 * plane;
        for (int p = from, o = from * step; p < to; p++, o += step)
        {
            ref var px = ref Unsafe.Add(ref src, p * 4);
            var a = Unsafe.Add(ref px, 3);
            byte v0 = Unsafe.Add(ref px, s0), v1 = Unsafe.Add(ref px, s1), v2 = Unsafe.Add(ref px, s2);
            if (a != 255)
            {
                v0 = OverWhite(v0, a);
                v1 = OverWhite(v1, a);
                v2 = OverWhite(v2, a);
            }
            Unsafe.Add(ref dst, o) = Unsafe.Add(ref t0, v0);
            Unsafe.Add(ref dst, o + c1) = Unsafe.Add(ref t1, v1);
            Unsafe.Add(ref dst, o + c2) = Unsafe.Add(ref t2, v2);
        }
    }

    /// <summary>SIMD for groups of 8 opaque pixels; the table loop for the remainder and translucent groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void PackPlanarSimd(ReadOnlySpan<byte> rgba, Span<byte> item)
    {
        var plane = TileSize * TileSize;
        if (rgba.Length < plane * 4 || item.Length < plane * 3 * DataType.ElementSize())
        {
            throw new ArgumentException("tile or batch slot too small");
        }
        var skippedBuffer = System.Buffers.ArrayPool<int>.Shared.Rent((plane / 8) + 1);
        try
        {
            int skipped;
            int s0 = _sourceChannel[0], s1 = _sourceChannel[1], s2 = _sourceChannel[2];
            fixed (byte* src = rgba)
            fixed (byte* dst = item)
            {
                skipped = DataType == TensorDataType.UInt8
                    ? SimdPlanarPacker.PackBytes(src, dst, plane, s0, s1, s2, skippedBuffer)
                    : SimdPlanarPacker.PackFloats(src, (float*)dst, plane, s0, s1, s2, _mean, _inverse, skippedBuffer);
            }
            for (var k = 0; k < skipped; k++)
            {
                PackScalar(rgba, item, skippedBuffer[k], skippedBuffer[k] + 8);
            }
            PackScalar(rgba, item, plane - (plane % 8), plane);
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(skippedBuffer);
        }
    }

    private void PackScalar(ReadOnlySpan<byte> rgba, Span<byte> item, int from, int to)
    {
        if (DataType == TensorDataType.UInt8)
        {
            Pack(rgba, item, Identity, from, to);
        }
        else
        {
            Pack(rgba, MemoryMarshal.Cast<byte, float>(item), _float, from, to);
        }
    }

    private void PackBytes(ReadOnlySpan<byte> rgba, Span<byte> item)
    {
        // Raw pixels: an identity table in the same loop.
        Pack(rgba, item, Identity);
    }

    private static readonly byte[] Identity = BuildIdentity();

    private static byte[] BuildIdentity()
    {
        var table = new byte[3 * 256];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = (byte)(i % 256);
        }
        return table;
    }

    private static byte OverWhite(byte value, byte alpha) => (byte)(((value * alpha) + (255 * (255 - alpha)) + 127) / 255);
}
