using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Histoscale.Server.Kserve.Http;
using Microsoft.AspNetCore.Http;

namespace Histoscale.Server.Kserve;

/// <summary>
/// Checks made before a request reaches its endpoint (after routing and the listener filter): Triton's restricted
/// APIs (a request of a restricted category without the header gets HTTP 403 / gRPC UNAVAILABLE, with Triton's
/// messages) and the gRPC message limit on a unary call, answered with a message that names the sizes (the gRPC
/// library enforces the same limit on every message, streams included, with its own generic message), and the
/// memory budget: an inference request reserves its size (the gRPC message length, the HTTP Content-Length) before
/// its body is read, and gives it back once answered; beyond the budget it gets 503 / UNAVAILABLE. A chunked or
/// gzip/deflate HTTP body is counted as it is read, after decompression (<see cref="BudgetedReadStream"/>), not at
/// its wire size.
/// </summary>
internal sealed class RequestGates(RestrictedApis http, RestrictedApis grpc, int maxGrpcMessageBytes, MemoryBudget budget)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        long reserve = 0;
        BudgetedReadStream? counted = null;
        switch (ListenerRoles.Of(context))
        {
            case ListenerRole.Http when !http.IsEmpty
                && RestrictedApis.CategorizeHttp(context.Request.Path.Value ?? "") is { } category
                && http.For(category) is { } restriction && !Carries(context, restriction):
                await HttpJson.WriteErrorAsync(context, StatusCodes.Status403Forbidden, $"This API is restricted, expecting header '{restriction.Header}'").ConfigureAwait(false);
                return;
            case ListenerRole.Grpc:
                if (!grpc.IsEmpty && RestrictedApis.CategorizeGrpc(context.Request.Path.Value ?? "") is { } c && grpc.For(c) is { } r && !Carries(context, r))
                {
                    WriteGrpcStatus(context, StatusCode.Unavailable, $"This protocol is restricted, expecting header '{r.Header}'");
                    return;
                }
                if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Type == MethodType.Unary
                    && await PeekMessageLengthAsync(context).ConfigureAwait(false) is { } length)
                {
                    if (length > maxGrpcMessageBytes)
                    {
                        WriteGrpcStatus(context, StatusCode.ResourceExhausted,
                            $"request message of {length} bytes exceeds the server's gRPC message limit of {maxGrpcMessageBytes} bytes (--grpc-max-message-size)");
                        return;
                    }
                    if (IsGrpcInfer(context))
                    {
                        if (!budget.TryReserve(length, out var error))
                        {
                            WriteGrpcStatus(context, StatusCode.Unavailable, error!);
                            return;
                        }
                        reserve = length;
                    }
                }
                break;
            case ListenerRole.Http when IsHttpInfer(context) && context.Request.ContentLength is { } bodyLength && IsIdentity(context):
                if (!budget.TryReserve(bodyLength, out var httpError))
                {
                    await HttpJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, httpError!).ConfigureAwait(false);
                    return;
                }
                reserve = bodyLength;
                break;
            case ListenerRole.Http when IsHttpInfer(context):
                // Chunked or compressed: the size it takes is known only as it is read (after decompression).
                counted = CountAsRead(context);
                break;
        }
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            budget.Release(reserve + (counted?.Reserved ?? 0));
        }
    }

    private static bool IsIdentity(HttpContext context) =>
        context.Request.Headers.ContentEncoding.ToString() is "" or "identity";

    /// <summary>
    /// Puts a <see cref="BudgetedReadStream"/> in front of the body, decompressing gzip/deflate here (the endpoint then
    /// sees the plain body) so that the bytes counted are the ones the request will hold. An unknown encoding is left
    /// for the endpoint to refuse.
    /// </summary>
    private BudgetedReadStream? CountAsRead(HttpContext context)
    {
        var request = context.Request;
        Stream? plain = request.Headers.ContentEncoding.ToString() switch
        {
            "" or "identity" => request.Body,
            "gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => null,
        };
        if (plain is null)
        {
            return null;
        }
        if (!ReferenceEquals(plain, request.Body))
        {
            request.Headers.ContentEncoding = default;
            request.ContentLength = null;
            context.Response.RegisterForDispose(plain);
        }
        var counted = new BudgetedReadStream(plain, budget);
        request.Body = counted;
        return counted;
    }

    /// <summary>The unary inference call (stream messages are counted one by one by the service).</summary>
    private static bool IsGrpcInfer(HttpContext context) =>
        context.Request.Path.Value?.EndsWith("/ModelInfer", StringComparison.Ordinal) == true;

    /// <summary>POST .../infer on the REST port.</summary>
    private static bool IsHttpInfer(HttpContext context) =>
        HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Value?.EndsWith("/infer", StringComparison.Ordinal) == true;

    /// <summary>Exact value match, as Triton compares it.</summary>
    private static bool Carries(HttpContext context, ApiRestriction restriction) =>
        context.Request.Headers.TryGetValue(restriction.Header, out var values) && values.Count == 1 && values[0] == restriction.Value;

    /// <summary>
    /// The declared length of the first gRPC message (its 5-byte prefix), read without consuming the body, so the
    /// gRPC handler reads it again; null when the body ends first. A unary call's body is that one message.
    /// </summary>
    private static async Task<long?> PeekMessageLengthAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= 5)
            {
                Span<byte> prefix = stackalloc byte[5];
                buffer.Slice(0, 5).CopyTo(prefix);
                reader.AdvanceTo(buffer.Start);
                return BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start);
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>A trailers-only gRPC answer: the status travels in the response headers, which end the stream.</summary>
    private static void WriteGrpcStatus(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
    }

    /// <summary>grpc-message is percent-encoded UTF-8 outside printable ASCII (and '%' itself).</summary>
    private static string PercentEncode(string message)
    {
        var text = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return text.ToString();
    }
}
