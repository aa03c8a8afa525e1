using System.Runtime.InteropServices;
using Google.Protobuf;
using Histoscale.Inference;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Models;

namespace Histoscale.Server.Kserve.Grpc;

/// <summary>
/// ModelInferRequest → tensors and tensors → ModelInferResponse. Raw input contents become tensors that view the
/// request's buffers (no copy); output tensors are wrapped into raw_output_contents (no copy either), so the caller
/// must keep them alive until the response is serialised.
/// </summary>
internal static class GrpcTensorCodec
{
    public static TensorSet ReadInputs(ModelInferRequest request)
    {
        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            throw new InferenceRequestException(
                $"raw_input_contents has {raw.Count} entries for {request.Inputs.Count} inputs; send raw contents for every input or for none");
        }
        var inputs = new TensorSet(request.Inputs.Count);
        try
        {
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                var input = request.Inputs[i];
                if (input.Parameters.ContainsKey("shared_memory_region"))
                {
                    throw new InferenceRequestException($"input '{input.Name}': the shared-memory extensions are not supported; send the data in the request");
                }
                var type = TensorShapes.ParseDataType(input.Datatype, input.Name);
                var shape = input.Shape.ToArray();
                var size = TensorShapes.ByteSize(type, shape, input.Name);
                Tensor tensor;
                if (raw.Count > 0)
                {
                    var bytes = raw[i].Memory;
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

    /// <summary>Requested output names in order, all of the model's when none were named; unknown names are request errors.</summary>
    public static IReadOnlyList<string> RequestedOutputs(ModelInferRequest request, BackendMetadata metadata)
    {
        if (request.Outputs.Count == 0)
        {
            return [.. metadata.Outputs.Select(o => o.Name)];
        }
        var names = new List<string>(request.Outputs.Count);
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
            names.Add(o.Name);
        }
        return names;
    }

    public static ModelInferResponse WriteOutputs(ModelVersionHost model, string id, TensorSet outputs, IReadOnlyList<string> names)
    {
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.VersionText, Id = id };
        foreach (var name in names)
        {
            var tensor = outputs[name];
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = tensor.DataType.ToKServeName() };
            foreach (var d in tensor.Shape)
            {
                output.Shape.Add(d);
            }
            response.Outputs.Add(output);
            response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(tensor.Memory));
        }
        return response;
    }
}
