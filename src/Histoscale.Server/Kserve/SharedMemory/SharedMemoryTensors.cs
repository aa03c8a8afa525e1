using System.Text.Json;
using Google.Protobuf.Collections;
using Histoscale.Inference;
using Histoscale.Inference.Tensors;
using Histoscale.KServe.Protocol;

namespace Histoscale.Server.Kserve.SharedMemory;

/// <summary>A tensor's place in a registered region: the <c>shared_memory_*</c> parameters of an input or output.</summary>
internal sealed record SharedMemoryRef(string Region, long Offset, long ByteSize);

/// <summary>
/// Inputs read from and outputs written to registered regions. An input becomes a tensor that views the mapping (the
/// batcher copies it into the batch tensor once, or binds it when it fills a batch); an output is copied from the
/// output tensor into the region and not returned in the body.
/// </summary>
internal static class SharedMemoryTensors
{
    public const string RegionParameter = "shared_memory_region";
    public const string OffsetParameter = "shared_memory_offset";
    public const string ByteSizeParameter = "shared_memory_byte_size";

    /// <summary>The gRPC parameters' reference, or null when the tensor travels in the message.</summary>
    public static SharedMemoryRef? From(MapField<string, InferParameter> parameters, string tensor)
    {
        if (!parameters.TryGetValue(RegionParameter, out var region))
        {
            return null;
        }
        if (region.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.StringParam || region.StringParam.Length == 0)
        {
            throw new InferenceRequestException($"tensor '{tensor}': {RegionParameter} must be a non-empty string");
        }
        var offset = parameters.TryGetValue(OffsetParameter, out var o) ? Integer(o, OffsetParameter, tensor) : 0;
        if (!parameters.TryGetValue(ByteSizeParameter, out var s))
        {
            throw new InferenceRequestException($"tensor '{tensor}': {RegionParameter} '{region.StringParam}' needs {ByteSizeParameter}");
        }
        return new SharedMemoryRef(region.StringParam, offset, Integer(s, ByteSizeParameter, tensor));
    }

    /// <summary>The JSON parameters' reference (HTTP), or null.</summary>
    public static SharedMemoryRef? From(JsonElement parameters, string tensor)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty(RegionParameter, out var region))
        {
            return null;
        }
        if (region.ValueKind != JsonValueKind.String || region.GetString() is not { Length: > 0 } name)
        {
            throw new InferenceRequestException($"tensor '{tensor}': {RegionParameter} must be a non-empty string");
        }
        long offset = 0;
        if (parameters.TryGetProperty(OffsetParameter, out var o) && !o.TryGetInt64(out offset))
        {
            throw new InferenceRequestException($"tensor '{tensor}': {OffsetParameter} must be an integer, got {o.GetRawText()}");
        }
        if (!parameters.TryGetProperty(ByteSizeParameter, out var s))
        {
            throw new InferenceRequestException($"tensor '{tensor}': {RegionParameter} '{name}' needs {ByteSizeParameter}");
        }
        if (!s.TryGetInt64(out var size))
        {
            throw new InferenceRequestException($"tensor '{tensor}': {ByteSizeParameter} must be an integer, got {s.GetRawText()}");
        }
        return new SharedMemoryRef(name, offset, size);
    }

    /// <summary>An input tensor viewing its bytes in the region; the lease (kept mapped) joins <paramref name="leases"/>.</summary>
    public static Tensor ReadInput(SystemSharedMemory? memory, SharedMemoryRef where, TensorDataType type, long[] shape, string input, SharedMemoryLeases leases)
    {
        var size = TensorShapes.ByteSize(type, shape, input);
        if (where.ByteSize != size)
        {
            throw new InferenceRequestException(
                $"unexpected shared memory size for input '{input}' in region '{where.Region}': {type.ToKServeName()}[{string.Join(',', shape)}] needs {size} bytes, {ByteSizeParameter} is {where.ByteSize}");
        }
        var lease = Manager(memory).Acquire(where.Region, where.Offset, where.ByteSize, input);
        leases.Add(lease);
        return Tensor.Wrap(type, shape, lease.Memory);
    }

    /// <summary>Copies <paramref name="tensor"/> into its region.</summary>
    public static void WriteOutput(SystemSharedMemory? memory, SharedMemoryRef where, Tensor tensor, string output)
    {
        using var lease = Manager(memory).Acquire(where.Region, where.Offset, where.ByteSize, output);
        if (!lease.Writable)
        {
            throw new InferenceRequestException($"output '{output}': shared memory region '{where.Region}' is read-only");
        }
        if (where.ByteSize < tensor.ByteLength)
        {
            throw new InferenceRequestException(
                $"shared memory size specified with the request for output '{output}' ({where.ByteSize} bytes) should be at least {tensor.ByteLength} bytes to hold the results (region '{where.Region}')");
        }
        tensor.Memory.Span.CopyTo(lease.Memory.Span);
    }

    private static SystemSharedMemory Manager(SystemSharedMemory? memory) =>
        memory ?? throw new InferenceRequestException("the system shared memory extension is not available on this server");

    private static long Integer(InferParameter p, string parameter, string tensor) => p.ParameterChoiceCase switch
    {
        InferParameter.ParameterChoiceOneofCase.Int64Param => p.Int64Param,
        InferParameter.ParameterChoiceOneofCase.Uint64Param when p.Uint64Param <= long.MaxValue => (long)p.Uint64Param,
        _ => throw new InferenceRequestException($"tensor '{tensor}': {parameter} must be an integer"),
    };
}

/// <summary>The leases a request holds on regions while its batch runs.</summary>
internal sealed class SharedMemoryLeases : IDisposable
{
    private List<SharedMemoryLease>? _leases;

    public void Add(SharedMemoryLease lease) => (_leases ??= []).Add(lease);

    public void Dispose()
    {
        foreach (var l in _leases ?? [])
        {
            l.Dispose();
        }
        _leases = null;
    }
}
