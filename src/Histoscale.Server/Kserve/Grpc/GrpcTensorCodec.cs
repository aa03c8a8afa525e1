using System.Runtime.InteropServices;
using Google.Protobuf;
using Histoscale.Inference;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Models;

namespace Histoscale.Server.Kserve.Grpc;

/// <summary>
/// ModelInferRequest → tensors and tensors → ModelInferResponse. Raw input contents become tensors that view the
/// request's buffers (no copy); output tensors are wrapped into raw_output_contents (no copy either), so the caller
/// must keep them alive until the response is serialised.
/// </summary>
internal static class GrpcTensorCodec
{
    /// <summary>
    /// The request's inputs. Inputs with <c>shared_memory_region</c> view the region (their leases join
    /// <paramref name="leases"/>); raw_input_contents, when sent, has one entry per other input, in order (as Triton).
    /// </summary>
    public static TensorSet ReadInputs(ModelInferRequest request, SystemSharedMemory? memory = null, SharedMemoryLeases? leases = null)
    {
        var raw = request.RawInputContents;
        var inMessage = 0;
        foreach (var input in request.Inputs)
        {
            inMessage += input.Parameters.ContainsKey(SharedMemoryTensors.RegionParameter) ? 0 : 1;
        }
        if (raw.Count > 0 && raw.Count != inMessage)
        {
            throw new InferenceRequestException(
                $"raw_input_contents has {raw.Count} entries for {inMessage} inputs not in shared memory; send raw contents for every such input or for none");
        }
        var inputs = new TensorSet(request.Inputs.Count);
        var next = 0;
        try
        {
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                var input = request.Inputs[i];
                var type = TensorShapes.ParseDataType(input.Datatype, input.Name);
                var shape = input.Shape.ToArray();
                Tensor tensor;
                if (SharedMemoryTensors.From(input.Parameters, input.Name) is { } where)
                {
                    tensor = SharedMemoryTensors.ReadInput(memory, where, type, shape, input.Name, leases ?? throw new InvalidOperationException("shared-memory inputs need leases"));
                }
                else if (raw.Count > 0)
                {
                    var size = TensorShapes.ByteSize(type, shape, input.Name);
                    var bytes = raw[next++].Memory;
                    if (bytes.Length != size)
                    {
                        throw new InferenceRequestException(
                            $"unexpected explicit tensor data size for input '{input.Name}': {input.Datatype}[{string.Join(',', shape)}] needs {size} bytes, raw_input_contents has {bytes.Length}");
                    }
                    // The backend only reads its inputs, so a read-only buffer can be viewed as a tensor.
                    tensor = Tensor.Wrap(type, shape, MemoryMarshal.AsMemory(bytes));
                }
                else
                {
                    tensor = TypedContents.Read(input.Contents, type, shape, input.Name);
                }
                try
                {
                    inputs.Add(input.Name, tensor);
                }
                catch (ArgumentException)
                {
                    tensor.Dispose();
                    throw new InferenceRequestException($"input '{input.Name}' appears more than once");
                }
            }
            return inputs;
        }
        catch
        {
            inputs.Dispose();
            throw;
        }
    }

    /// <summary>Requested outputs in order (with their region when written to shared memory), all of the model's when none were named; unknown names are request errors.</summary>
    public static IReadOnlyList<(string Name, SharedMemoryRef? Region)> RequestedOutputs(ModelInferRequest request, BackendMetadata metadata)
    {
        if (request.Outputs.Count == 0)
        {
            return [.. metadata.Outputs.Select(o => (o.Name, (SharedMemoryRef?)null))];
        }
        var names = new List<(string, SharedMemoryRef?)>(request.Outputs.Count);
        foreach (var o in request.Outputs)
        {
            if (!metadata.Outputs.Any(s => s.Name == o.Name))
            {
                throw new InferenceRequestException($"unexpected inference output '{o.Name}' for model '{metadata.Name}'");
            }
            if (o.Parameters.ContainsKey("classification"))
            {
                throw new InferenceRequestException($"output '{o.Name}': the classification extension is not supported");
            }
            names.Add((o.Name, SharedMemoryTensors.From(o.Parameters, o.Name)));
        }
        return names;
    }

    /// <summary>
    /// The response. Outputs bound to a region are copied there and carry its parameters instead of contents; when
    /// some outputs still travel in the message, those in regions get an empty raw_output_contents entry so that
    /// entries stay aligned with outputs.
    /// </summary>
    public static ModelInferResponse WriteOutputs(ModelVersionHost model, string id, TensorSet outputs, IReadOnlyList<(string Name, SharedMemoryRef? Region)> names, SystemSharedMemory? memory = null)
    {
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.VersionText, Id = id };
        var anyInMessage = names.Any(n => n.Region is null);
        foreach (var (name, region) in names)
        {
            var tensor = outputs[name];
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = tensor.DataType.ToKServeName() };
            foreach (var d in tensor.Shape)
            {
                output.Shape.Add(d);
            }
            response.Outputs.Add(output);
            if (region is not null)
            {
                SharedMemoryTensors.WriteOutput(memory, region, tensor, name);
                output.Parameters[SharedMemoryTensors.RegionParameter] = new InferParameter { StringParam = region.Region };
                output.Parameters[SharedMemoryTensors.ByteSizeParameter] = new InferParameter { Int64Param = tensor.ByteLength };
                if (region.Offset != 0)
                {
                    output.Parameters[SharedMemoryTensors.OffsetParameter] = new InferParameter { Int64Param = region.Offset };
                }
                if (anyInMessage)
                {
                    response.RawOutputContents.Add(ByteString.Empty);
                }
                continue;
            }
            response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(tensor.Memory));
        }
        return response;
    }
}
