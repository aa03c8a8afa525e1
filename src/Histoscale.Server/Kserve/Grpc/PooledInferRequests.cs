using System.Buffers;
using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Histoscale.Inference.Tensors;
using Histoscale.KServe.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Histoscale.Server.Kserve.Grpc;

/// <summary>
/// Reads <c>ModelInferRequest</c> messages so that tensor bytes are copied once, from the HTTP/2 request buffers
/// into a buffer of the server's bounded pool, instead of into a new large-object-heap array per input (what
/// protobuf's parser does for a <c>bytes</c> field). Every other field is parsed by the generated parser. The
/// service gives the buffers back with <see cref="Return"/> once the request's batch has run.
/// </summary>
internal static class PooledInferRequests
{
    /// <summary>Field number of <c>raw_input_contents</c> in <c>ModelInferRequest</c> (grpc_service.proto).</summary>
    private const int RawInputContentsField = 7;

    /// <summary>
    /// Binds <see cref="GrpcInferenceService"/> with the pooled request marshaller in place of the generated one
    /// (the generated binding's methods, names and response marshallers otherwise unchanged).
    /// </summary>
    public static IServiceCollection AddPooledInferRequests(this IServiceCollection services)
    {
        services.RemoveAll(typeof(IServiceMethodProvider<GrpcInferenceService>));
        // AddGrpc registers an open generic provider for every service; this service gets its own instead.
        var generic = services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)).ToList();
        foreach (var d in generic)
        {
            services.Remove(d);
        }
        services.AddSingleton<IServiceMethodProvider<GrpcInferenceService>, MethodProvider>();
        return services;
    }

    /// <summary>Parses one message; each <c>raw_input_contents</c> entry views a buffer rented from <paramref name="pool"/>.</summary>
    public static ModelInferRequest Parse(ReadOnlySequence<byte> payload, BoundedBufferPool pool)
    {
        var reader = new SequenceReader<byte>(payload);
        ArrayBufferWriter<byte>? rest = null;
        List<ByteString>? raw = null;
        try
        {
            while (!reader.End)
            {
                var fieldStart = reader.Position;
                var tag = ReadVarint(ref reader);
                var wire = (int)(tag & 7);
                if (tag >> 3 == RawInputContentsField && wire == 2)
                {
                    var length = ReadLength(ref reader);
                    var buffer = pool.Rent(length);
                    (raw ??= []).Add(UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, length)));
                    if (!reader.TryCopyTo(buffer.AsSpan(0, length)))
                    {
                        throw new InvalidDataException("ModelInferRequest: raw_input_contents entry ends past the message");
                    }
                    reader.Advance(length);
                    continue;
                }
                Skip(ref reader, wire);
                rest ??= new ArrayBufferWriter<byte>(1024);
                var field = payload.Slice(fieldStart, reader.Position);
                field.CopyTo(rest.GetSpan((int)field.Length));
                rest.Advance((int)field.Length);
            }
            var message = rest is null ? new ModelInferRequest() : ModelInferRequest.Parser.ParseFrom(rest.WrittenSpan);
            if (raw is not null)
            {
                message.RawInputContents.Add(raw);
            }
            return message;
        }
        catch
        {
            foreach (var bytes in raw ?? [])
            {
                ReturnOne(bytes, pool);
            }
            throw;
        }
    }

    /// <summary>Gives the request's raw input buffers back to the pool and clears them from the message. Call once, after its batch ran.</summary>
    public static void Return(ModelInferRequest request, BoundedBufferPool pool)
    {
        foreach (var bytes in request.RawInputContents)
        {
            ReturnOne(bytes, pool);
        }
        request.RawInputContents.Clear();
    }

    /// <summary>Bytes of tensor data the message carries (raw contents; typed contents are not pooled but counted).</summary>
    public static long TensorBytes(ModelInferRequest request)
    {
        long total = 0;
        foreach (var bytes in request.RawInputContents)
        {
            total += bytes.Length;
        }
        foreach (var input in request.Inputs)
        {
            if (input.Contents is { } c)
            {
                total += c.CalculateSize();
            }
        }
        return total;
    }

    private static void ReturnOne(ByteString bytes, BoundedBufferPool pool)
    {
        if (MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 && segment.Array is { } array)
        {
            pool.Return(array);
        }
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw new InvalidDataException("ModelInferRequest: truncated varint");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new InvalidDataException("ModelInferRequest: malformed varint");
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        var length = ReadVarint(ref reader);
        if (length > (ulong)reader.Remaining)
        {
            throw new InvalidDataException($"ModelInferRequest: a field of {length} bytes ends past the message");
        }
        return (int)length;
    }

    private static void Skip(ref SequenceReader<byte> reader, int wire)
    {
        switch (wire)
        {
            case 0:
                ReadVarint(ref reader);
                break;
            case 1:
                Advance(ref reader, 8);
                break;
            case 2:
                reader.Advance(ReadLength(ref reader));
                break;
            case 5:
                Advance(ref reader, 4);
                break;
            default:
                throw new InvalidDataException($"ModelInferRequest: unsupported wire type {wire}");
        }
    }

    private static void Advance(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count)
        {
            throw new InvalidDataException("ModelInferRequest: truncated field");
        }
        reader.Advance(count);
    }

    /// <summary>Binds the generated service definition, swapping the request marshaller of the inference methods.</summary>
    private sealed class MethodProvider(RequestBufferPool buffers) : IServiceMethodProvider<GrpcInferenceService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<GrpcInferenceService> context) =>
            GRPCInferenceService.BindService(new Binder(context, buffers.Pool), null!);
    }

    private sealed class Binder(ServiceMethodProviderContext<GrpcInferenceService> context, BoundedBufferPool pool) : ServiceBinderBase
    {
        private readonly Marshaller<ModelInferRequest> _requests = Marshallers.Create<ModelInferRequest>(
            (message, serialization) =>
            {
                serialization.SetPayloadLength(message.CalculateSize());
                message.WriteTo(serialization.GetBufferWriter());
                serialization.Complete();
            },
            deserialization => Parse(deserialization.PayloadAsReadOnlySequence(), pool));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(WithMarshaller(method), [], Invoker<UnaryServerMethod<GrpcInferenceService, TRequest, TResponse>>(method.Name));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(WithMarshaller(method), [], Invoker<DuplexStreamingServerMethod<GrpcInferenceService, TRequest, TResponse>>(method.Name));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(WithMarshaller(method), [], Invoker<ServerStreamingServerMethod<GrpcInferenceService, TRequest, TResponse>>(method.Name));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(WithMarshaller(method), [], Invoker<ClientStreamingServerMethod<GrpcInferenceService, TRequest, TResponse>>(method.Name));

        private Method<TRequest, TResponse> WithMarshaller<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class
            where TResponse : class =>
            typeof(TRequest) == typeof(ModelInferRequest)
                ? new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, (Marshaller<TRequest>)(object)_requests, method.ResponseMarshaller)
                : method;

        /// <summary>An open-instance delegate to the service's method of that name (as the default binding makes).</summary>
        private static TDelegate Invoker<TDelegate>(string name) where TDelegate : Delegate =>
            (TDelegate)Delegate.CreateDelegate(typeof(TDelegate), typeof(GrpcInferenceService).GetMethod(name, BindingFlags.Public | BindingFlags.Instance)
                ?? throw new InvalidOperationException($"GrpcInferenceService has no method {name}"));
    }
}

/// <summary>The server's pool for request tensor bytes (one per server; bounded).</summary>
/// <param name="Pool">The pool.</param>
internal sealed record RequestBufferPool(BoundedBufferPool Pool);
