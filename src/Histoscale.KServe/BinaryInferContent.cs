using System.Net;
using System.Net.Http.Headers;
using Histoscale.Inference.Tensors;

namespace Histoscale.KServe;

/// <summary>
/// An HTTP body in Triton's binary tensor format: the JSON inference header followed by each input's raw bytes,
/// written straight from the tensors' memory (no concatenated copy).
/// </summary>
internal sealed class BinaryInferContent : HttpContent
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private readonly ReadOnlyMemory<byte> _header;
    private readonly IReadOnlyList<NamedTensor> _tensors;

    public BinaryInferContent(ReadOnlyMemory<byte> header, IReadOnlyList<NamedTensor> tensors)
    {
        _header = header;
        _tensors = tensors;
        Headers.ContentType = OctetStream;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(_header, cancellationToken).ConfigureAwait(false);
        foreach (var (_, tensor) in _tensors)
        {
            await stream.WriteAsync(tensor.Memory, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _header.Length;
        foreach (var (_, tensor) in _tensors)
        {
            length += tensor.ByteLength;
        }
        return true;
    }
}
