using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Tests;

/// <summary>A temporary directory removed on dispose; tests generate all their data into one.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "histoscale-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Deterministic H&amp;E-like test images as byte arrays in NCHW (or NHWC) order.</summary>
internal static class Images
{
    public static byte[] Random(int batch, int size, int seed, bool nhwc = false)
    {
        var rng = new Random(seed);
        var data = new byte[batch * 3 * size * size];
        rng.NextBytes(data);
        return data;
    }

    /// <summary>Every pixel of every tile the same RGB colour, NCHW.</summary>
    public static byte[] Solid(int batch, int size, params (byte R, byte G, byte B)[] colours)
    {
        var plane = size * size;
        var data = new byte[batch * 3 * plane];
        for (var n = 0; n < batch; n++)
        {
            var c = colours[n % colours.Length];
            data.AsSpan(((n * 3) + 0) * plane, plane).Fill(c.R);
            data.AsSpan(((n * 3) + 1) * plane, plane).Fill(c.G);
            data.AsSpan(((n * 3) + 2) * plane, plane).Fill(c.B);
        }
        return data;
    }

    public static Tensor AsTensor(byte[] data, TensorDataType type, params long[] shape) => type switch
    {
        TensorDataType.UInt8 => Tensor.FromValues<byte>(type, data, shape),
        TensorDataType.Fp32 => Tensor.FromValues<float>(type, data.Select(b => (float)b).ToArray(), shape),
        TensorDataType.Fp16 => Tensor.FromValues<Half>(type, data.Select(b => (Half)b).ToArray(), shape),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
