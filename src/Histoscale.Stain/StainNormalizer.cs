using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Histoscale.Stain;

/// <summary>
/// Maps a slide's stain (its <see cref="Source"/> parameters) onto a <see cref="Target"/>'s, pixel by pixel, in
/// place. Every method reduces to one per-pixel map in log space, computed 8 pixels at a time (Vector256; the JIT
/// emits AVX2 on x64 and pairs of NEON operations on arm64):
/// <list type="bullet">
/// <item>Macenko, Vahadane: concentrations by least squares on the source stain vectors, each scaled by the ratio
/// of maximum concentrations, recomposed with the target vectors. In optical density that is one 3×3 matrix M, so
/// out = exp(M·ln(v) + ln 255·(1 − M·1)): a logarithm, a matrix and an exponential per channel.</item>
/// <item>Reinhard: RGB → LMS, logarithm, then the lαβ statistics transfer (rotate, scale, shift, rotate back) is
/// one affine map of log LMS; exponential, LMS → RGB.</item>
/// </list>
/// Glass stays glass: pixels whose optical density is below <see cref="StainOptions.BackgroundOd"/> in every channel
/// are left unchanged, as are translucent pixels (outside the scanned area). Thread-safe; allocates nothing per call.
/// </summary>
public sealed class StainNormalizer
{
    private readonly float[] _mix = new float[9];
    private readonly float[] _affine = new float[12];
    private readonly float[] _unmix = new float[9];
    private readonly bool _lms;
    private readonly uint _bright;

    /// <summary>A normaliser from <paramref name="source"/> (a slide's own fit) to <paramref name="target"/>.</summary>
    /// <exception cref="StainException">The two are of different methods, or the source's stain vectors are parallel.</exception>
    public StainNormalizer(StainParameters source, StainParameters target, StainOptions? options = null)
    {
        options ??= new StainOptions();
        options.Validate();
        if (source.Method != target.Method)
        {
            throw new StainException($"cannot normalise {source.Method.Name()} parameters to a {target.Method.Name()} target");
        }
        Source = source;
        Target = target;
        _bright = (uint)Math.Clamp(Math.Floor(255 * Math.Exp(-options.BackgroundOd)), 0, 255);
        if (options.BackgroundOd == 0)
        {
            _bright = 255;
        }
        double[,] k;
        double[] k0;
        if (source.Method == StainMethod.Reinhard)
        {
            _lms = true;
            // u = ln LMS; lαβ = B·u/ln10; lαβ' = D(lαβ − μs) + μt; u' = ln10·B⁻¹·lαβ' = (B⁻¹DB)·u + ln10·B⁻¹(μt − D·μs).
            var b = LabSpace.LogLmsToLab;
            var bi = LabSpace.LabToLogLms;
            var d = new double[3, 3];
            var shift = new double[3];
            for (var c = 0; c < 3; c++)
            {
                d[c, c] = target.LabStd![c] / source.LabStd![c];
                shift[c] = target.LabMean![c] - (d[c, c] * source.LabMean![c]);
            }
            k = Matrix3.Multiply(bi, Matrix3.Multiply(d, b));
            k0 = new double[3];
            for (var c = 0; c < 3; c++)
            {
                k0[c] = Math.Log(10) * ((bi[c, 0] * shift[0]) + (bi[c, 1] * shift[1]) + (bi[c, 2] * shift[2]));
            }
            for (var i = 0; i < 3; i++)
            {
                for (var j = 0; j < 3; j++)
                {
                    _mix[(i * 3) + j] = (float)(LabSpace.RgbToLms[i, j] / 255);
                    _unmix[(i * 3) + j] = (float)(LabSpace.LmsToRgb[i, j] * 255);
                }
            }
        }
        else
        {
            // OD' = M·OD with M = S_t · diag(max_t / max_s) · pinv(S_s); in ln(v): y = M·x + ln255·(1 − M·1).
            var pinv = StainFitter.PseudoInverse(source.StainMatrix![0], source.StainMatrix[1]);
            var st = target.StainMatrix!;
            var scale0 = target.MaxConcentrations![0] / source.MaxConcentrations![0];
            var scale1 = target.MaxConcentrations[1] / source.MaxConcentrations[1];
            k = new double[3, 3];
            k0 = new double[3];
            for (var i = 0; i < 3; i++)
            {
                var rowSum = 0.0;
                for (var j = 0; j < 3; j++)
                {
                    k[i, j] = (st[0][i] * scale0 * pinv[0, j]) + (st[1][i] * scale1 * pinv[1, j]);
                    rowSum += k[i, j];
                }
                k0[i] = Math.Log(255) * (1 - rowSum);
            }
        }
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                _affine[(i * 4) + j] = (float)k[i, j];
            }
            _affine[(i * 4) + 3] = (float)k0[i];
        }
    }

    /// <summary>The slide's own parameters.</summary>
    public StainParameters Source { get; }

    /// <summary>The parameters pixels are mapped to.</summary>
    public StainParameters Target { get; }

    /// <summary>Normalises RGBA pixels (R, G, B, A bytes) in place; translucent and glass pixels are left as they are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void NormalizeRgba(Span<byte> rgba)
    {
        var pixels = MemoryMarshal.Cast<byte, uint>(rgba[..(rgba.Length / 4 * 4)]);
        var k = new Kernel(this);
        var i = 0;
        ref var p = ref MemoryMarshal.GetReference(pixels);
        for (; i <= pixels.Length - 8; i += 8)
        {
            var px = Vector256.LoadUnsafe(ref p, (nuint)i);
            k.Map(px, out var r, out var g, out var b, out var keep);
            var packed = r | (g << 8) | (b << 16) | (px & Vector256.Create(0xFF000000u));
            Vector256.ConditionalSelect(keep, px, packed).StoreUnsafe(ref p, (nuint)i);
        }
        if (i < pixels.Length)
        {
            // The last few pixels go through the same vector code, padded with transparent (unchanged) ones.
            Span<uint> tail = stackalloc uint[8];
            tail.Clear();
            pixels[i..].CopyTo(tail);
            NormalizeRgba(MemoryMarshal.AsBytes(tail));
            tail[..(pixels.Length - i)].CopyTo(pixels[i..]);
        }
    }

    /// <summary>Normalises opaque pixels given as three colour planes of equal length, in place; glass is left as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void NormalizePlanes(Span<byte> red, Span<byte> green, Span<byte> blue)
    {
        if (green.Length != red.Length || blue.Length != red.Length)
        {
            throw new ArgumentException("the three planes differ in length");
        }
        var k = new Kernel(this);
        ref var r0 = ref MemoryMarshal.GetReference(red);
        ref var g0 = ref MemoryMarshal.GetReference(green);
        ref var b0 = ref MemoryMarshal.GetReference(blue);
        var alpha = Vector256.Create(0xFF000000u);
        var i = 0;
        for (; i <= red.Length - 8; i += 8)
        {
            var rv = Widen(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref r0, i)));
            var gv = Widen(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref g0, i)));
            var bv = Widen(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b0, i)));
            k.Map(rv | (gv << 8) | (bv << 16) | alpha, out var r, out var g, out var b, out var keep);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref r0, i), Narrow(Vector256.ConditionalSelect(keep, rv, r)));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref g0, i), Narrow(Vector256.ConditionalSelect(keep, gv, g)));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref b0, i), Narrow(Vector256.ConditionalSelect(keep, bv, b)));
        }
        if (i < red.Length)
        {
            Span<byte> tail = stackalloc byte[24];
            tail.Fill(255);
            var n = red.Length - i;
            red[i..].CopyTo(tail);
            green[i..].CopyTo(tail[8..]);
            blue[i..].CopyTo(tail[16..]);
            NormalizePlanes(tail[..8], tail[8..16], tail[16..]);
            tail[..n].CopyTo(red[i..]);
            tail.Slice(8, n).CopyTo(green[i..]);
            tail.Slice(16, n).CopyTo(blue[i..]);
        }
    }

    /// <summary>One pixel, scalar (for tests and single pixels): the same arithmetic as the vector path.</summary>
    public (byte R, byte G, byte B) Normalize(byte r, byte g, byte b)
    {
        Span<byte> px = [r, g, b, 255, 0, 0, 0, 0];
        NormalizeRgba(px[..4]);
        return (px[0], px[1], px[2]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Widen(ulong eightBytes)
    {
        var words = Vector128.WidenLower(Vector128.CreateScalar(eightBytes).AsByte());
        return Vector256.Create(Vector128.WidenLower(words), Vector128.WidenUpper(words));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Narrow(Vector256<uint> values)
    {
        var words = Vector128.Narrow(values.GetLower(), values.GetUpper());
        return Vector128.Narrow(words, words).AsUInt64().ToScalar();
    }

    /// <summary>The coefficients broadcast once per call, and the per-8-pixel map.</summary>
    private readonly struct Kernel
    {
        private readonly Vector256<float> _m00, _m01, _m02, _m10, _m11, _m12, _m20, _m21, _m22;
        private readonly Vector256<float> _k00, _k01, _k02, _k03, _k10, _k11, _k12, _k13, _k20, _k21, _k22, _k23;
        private readonly Vector256<float> _u00, _u01, _u02, _u10, _u11, _u12, _u20, _u21, _u22;
        private readonly bool _lms;
        private readonly Vector256<uint> _bright;

        public Kernel(StainNormalizer n)
        {
            var m = n._mix;
            var k = n._affine;
            var u = n._unmix;
            (_m00, _m01, _m02, _m10, _m11, _m12, _m20, _m21, _m22) = (B(m[0]), B(m[1]), B(m[2]), B(m[3]), B(m[4]), B(m[5]), B(m[6]), B(m[7]), B(m[8]));
            (_k00, _k01, _k02, _k03) = (B(k[0]), B(k[1]), B(k[2]), B(k[3]));
            (_k10, _k11, _k12, _k13) = (B(k[4]), B(k[5]), B(k[6]), B(k[7]));
            (_k20, _k21, _k22, _k23) = (B(k[8]), B(k[9]), B(k[10]), B(k[11]));
            (_u00, _u01, _u02, _u10, _u11, _u12, _u20, _u21, _u22) = (B(u[0]), B(u[1]), B(u[2]), B(u[3]), B(u[4]), B(u[5]), B(u[6]), B(u[7]), B(u[8]));
            _lms = n._lms;
            _bright = Vector256.Create(n._bright);
        }

        private static Vector256<float> B(float v) => Vector256.Create(v);

        /// <summary>8 packed RGBA pixels → the mapped R, G, B (0–255 each) and a mask of pixels to leave as they were.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Map(Vector256<uint> px, out Vector256<uint> r, out Vector256<uint> g, out Vector256<uint> b, out Vector256<uint> keep)
        {
            var low = Vector256.Create(0xFFu);
            var ri = px & low;
            var gi = (px >> 8) & low;
            var bi = (px >> 16) & low;
            var glass = Vector256.GreaterThan(Vector256.Min(ri, Vector256.Min(gi, bi)), _bright);
            var translucent = ~Vector256.Equals(px >> 24, low);
            keep = glass | translucent;
            var one = Vector256.Create(1f);
            var x0 = Vector256.Max(Vector256.ConvertToSingle(ri.AsInt32()), one);
            var x1 = Vector256.Max(Vector256.ConvertToSingle(gi.AsInt32()), one);
            var x2 = Vector256.Max(Vector256.ConvertToSingle(bi.AsInt32()), one);
            if (_lms)
            {
                var l0 = (_m00 * x0) + (_m01 * x1) + (_m02 * x2);
                var l1 = (_m10 * x0) + (_m11 * x1) + (_m12 * x2);
                var l2 = (_m20 * x0) + (_m21 * x1) + (_m22 * x2);
                (x0, x1, x2) = (l0, l1, l2);
            }
            x0 = Vector256.Log(x0);
            x1 = Vector256.Log(x1);
            x2 = Vector256.Log(x2);
            var y0 = Vector256.Exp((_k00 * x0) + (_k01 * x1) + (_k02 * x2) + _k03);
            var y1 = Vector256.Exp((_k10 * x0) + (_k11 * x1) + (_k12 * x2) + _k13);
            var y2 = Vector256.Exp((_k20 * x0) + (_k21 * x1) + (_k22 * x2) + _k23);
            if (_lms)
            {
                var o0 = (_u00 * y0) + (_u01 * y1) + (_u02 * y2);
                var o1 = (_u10 * y0) + (_u11 * y1) + (_u12 * y2);
                var o2 = (_u20 * y0) + (_u21 * y1) + (_u22 * y2);
                (y0, y1, y2) = (o0, o1, o2);
            }
            r = ToByte(y0);
            g = ToByte(y1);
            b = ToByte(y2);
        }

        /// <summary>Clamped to [0, 255], rounded half up.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> ToByte(Vector256<float> v)
        {
            var clamped = Vector256.Min(Vector256.Max(v, Vector256<float>.Zero), Vector256.Create(255f));
            return Vector256.ConvertToInt32(clamped + Vector256.Create(0.5f)).AsUInt32();
        }
    }
}
