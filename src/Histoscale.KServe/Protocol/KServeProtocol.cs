namespace Histoscale.KServe.Protocol;

/// <summary>Names fixed by the KServe v2 protocol and Triton's binary tensor data extension.</summary>
public static class KServeProtocol
{
    /// <summary>HTTP header giving the length of the JSON part of a body that carries binary tensors after it.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";

    /// <summary>Input/output parameter: byte length of this tensor's data in the binary part of the body.</summary>
    public const string BinaryDataSize = "binary_data_size";

    /// <summary>Requested-output parameter: return this output as binary data.</summary>
    public const string BinaryData = "binary_data";

    /// <summary>Request parameter: return every output as binary data.</summary>
    public const string BinaryDataOutput = "binary_data_output";

    /// <summary>gRPC message limit both sides use: tile batches are far above gRPC's 4 MiB default (Triton uses INT32_MAX).</summary>
    public const int MaxMessageBytes = int.MaxValue;

    /// <summary>Fully qualified name of the KServe v2 gRPC service (grpc_service.proto).</summary>
    public const string GrpcServiceName = "inference.GRPCInferenceService";
}
