using Grpc.Core;
using Histoscale.Inference;
using Histoscale.KServe.Protocol;
using Histoscale.Inference.Tensors;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server.Kserve.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: Triton's gRPC API over the same registry and batchers as the REST API.
/// Errors are gRPC statuses (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE); on the stream they are reported in
/// <c>error_message</c> and the stream goes on, as Triton does.
/// </summary>
internal sealed class GrpcInferenceService(ModelRegistry models, ServerState state, RequestBufferPool buffers, MemoryBudget budget, SystemSharedMemory sharedMemory, ILogger<GrpcInferenceService> log)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = state.Live });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = state.Ready });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelReadyResponse { Ready = models.IsReady(request.Name, request.Version) });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = ServerState.Name, Version = ServerState.Version, Extensions = { ServerState.Extensions } });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) => Run(() =>
    {
        var host = models.Resolve(request.Name, request.Version);
        var m = host.Metadata;
        var response = new ModelMetadataResponse { Name = host.Name, Platform = m.Platform };
        response.Versions.Add(models.Versions(request.Name).Select(v => v.VersionText));
        foreach (var s in m.Inputs)
        {
            response.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = s.Name, Datatype = s.DataType.ToKServeName(), Shape = { s.Shape } });
        }
        foreach (var s in m.Outputs)
        {
            response.Outputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = s.Name, Datatype = s.DataType.ToKServeName(), Shape = { s.Shape } });
        }
        return response;
    });

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Run(() => new ModelConfigResponse { Config = models.Resolve(request.Name, request.Version).ConfigProto });

    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context) => Run(() =>
    {
        IEnumerable<ModelVersionHost> hosts = string.IsNullOrEmpty(request.Name) ? models.LoadedVersions
            : string.IsNullOrEmpty(request.Version) ? models.Versions(request.Name)
            : [models.Resolve(request.Name, request.Version)];
        var response = new ModelStatisticsResponse();
        foreach (var h in hosts)
        {
            response.ModelStats.Add(StatisticsConverter.ToProto(h.Name, h.VersionText, h.Statistics.Snapshot()));
        }
        return response;
    });

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context) => Run(() =>
    {
        var response = new RepositoryIndexResponse();
        foreach (var e in models.Index(request.Ready))
        {
            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex { Name = e.Name, Version = e.Version, State = e.StateName, Reason = e.Reason });
        }
        return response;
    });

    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        try
        {
            models.EnsureExplicitControl();
            if (request.Parameters.Count > 0)
            {
                throw new InferenceRequestException(
                    $"load parameters ({string.Join(", ", request.Parameters.Keys)}) are not supported: put the config and model files in the repository");
            }
            await models.LoadAsync(request.ModelName, context.CancellationToken).ConfigureAwait(false);
            return new RepositoryModelLoadResponse();
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        try
        {
            models.EnsureExplicitControl();
            await models.UnloadAsync(request.ModelName, context.CancellationToken).ConfigureAwait(false);
            return new RepositoryModelUnloadResponse();
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    public override Task<SystemSharedMemoryRegisterResponse> SystemSharedMemoryRegister(SystemSharedMemoryRegisterRequest request, ServerCallContext context) => Run(() =>
    {
        sharedMemory.Register(request.Name, request.Key, Signed(request.Offset, "offset"), Signed(request.ByteSize, "byte_size"));
        return new SystemSharedMemoryRegisterResponse();
    });

    public override Task<SystemSharedMemoryUnregisterResponse> SystemSharedMemoryUnregister(SystemSharedMemoryUnregisterRequest request, ServerCallContext context) => Run(() =>
    {
        if (string.IsNullOrEmpty(request.Name))
        {
            sharedMemory.UnregisterAll();
        }
        else
        {
            sharedMemory.Unregister(request.Name);
        }
        return new SystemSharedMemoryUnregisterResponse();
    });

    public override Task<SystemSharedMemoryStatusResponse> SystemSharedMemoryStatus(SystemSharedMemoryStatusRequest request, ServerCallContext context) => Run(() =>
    {
        var response = new SystemSharedMemoryStatusResponse();
        foreach (var r in sharedMemory.Status(request.Name))
        {
            response.Regions[r.Name] = new SystemSharedMemoryStatusResponse.Types.RegionStatus { Name = r.Name, Key = r.Key, Offset = (ulong)r.Offset, ByteSize = (ulong)r.ByteSize };
        }
        return response;
    });

    private static long Signed(ulong value, string field) =>
        value <= long.MaxValue ? (long)value : throw new InferenceRequestException($"{field} {value} is out of range");

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        try
        {
            var (response, outputs) = await InferAsync(request, context.CancellationToken).ConfigureAwait(false);
            // The response views the pooled output tensors; they go back to the pool once it has been sent.
            context.GetHttpContext().Response.RegisterForDispose(outputs);
            return response;
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    /// <summary>
    /// Requests on the stream run concurrently (so a client can pipeline on one stream); each answer carries the
    /// request's id, and a failed request is answered with its error_message while the stream goes on.
    /// </summary>
    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream, IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        var writeLock = new SemaphoreSlim(1, 1);
        var pending = new List<Task>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            pending.RemoveAll(t => t.IsCompleted);
            pending.Add(AnswerAsync(request));
        }
        await Task.WhenAll(pending).ConfigureAwait(false);

        async Task AnswerAsync(ModelInferRequest request)
        {
            Inference.Tensors.TensorSet? outputs = null;
            ModelStreamInferResponse message;
            // Stream messages pass the gate one by one here: the budget counts each while it is queued or runs.
            var bytes = PooledInferRequests.TensorBytes(request);
            var reserved = false;
            var inferReached = false;
            try
            {
                reserved = budget.Reserve(bytes);
                inferReached = true;
                (var response, outputs) = await InferAsync(request, context.CancellationToken).ConfigureAwait(false);
                message = new ModelStreamInferResponse { InferResponse = response };
            }
            catch (Exception ex)
            {
                if (!inferReached)
                {
                    // Refused before InferAsync, which returns the pooled raw-input buffers itself.
                    PooledInferRequests.Return(request, buffers.Pool);
                }
                Log(ex);
                message = new ModelStreamInferResponse
                {
                    ErrorMessage = ex.Message,
                    InferResponse = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id },
                };
            }
            try
            {
                await writeLock.WaitAsync(context.CancellationToken).ConfigureAwait(false);
                try
                {
                    await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    writeLock.Release();
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException)
            {
                // The client went away; nothing left to tell it.
            }
            finally
            {
                outputs?.Dispose();
                if (reserved)
                {
                    budget.Release(bytes);
                }
            }
        }
    }

    private async Task<(ModelInferResponse Response, TensorSet Outputs)> InferAsync(ModelInferRequest request, CancellationToken cancellationToken)
    {
        ModelVersionHost host;
        IReadOnlyList<(string Name, SharedMemoryRef? Region)> names;
        TensorSet outputs;
        try
        {
            host = models.Resolve(request.ModelName, request.ModelVersion);
            names = GrpcTensorCodec.RequestedOutputs(request, host.Metadata);
            using var leases = new SharedMemoryLeases();
            using var inputs = GrpcTensorCodec.ReadInputs(request, sharedMemory, leases);
            outputs = await host.Batcher.InferAsync(inputs, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The batch has run (or the request never got into one): its tensor bytes are not read again.
            PooledInferRequests.Return(request, buffers.Pool);
        }
        try
        {
            return (GrpcTensorCodec.WriteOutputs(host, request.Id, outputs, names, sharedMemory), outputs);
        }
        catch
        {
            outputs.Dispose();
            throw;
        }
    }

    private Task<T> Run<T>(Func<T> answer)
    {
        try
        {
            return Task.FromResult(answer());
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    private RpcException Fail(Exception ex)
    {
        Log(ex);
        return ErrorMapping.ToRpc(ex);
    }

    private void Log(Exception ex)
    {
        if (!ErrorMapping.IsExpected(ex))
        {
            log.LogError(ex, "gRPC request failed");
        }
    }
}
