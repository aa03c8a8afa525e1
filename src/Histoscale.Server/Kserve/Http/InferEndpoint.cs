using Histoscale.Server.Kserve.Grpc;
using Histoscale.Server.Kserve.SharedMemory;
using Histoscale.Server.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Histoscale.Server.Kserve.Http;

/// <summary><c>POST /v2/models/NAME[/versions/V]/infer</c>: parse, queue on the model's batcher, answer.</summary>
internal static class InferEndpoint
{
    public static async Task HandleAsync(HttpContext context, ModelRegistry models, string name, string? version)
    {
        var model = models.Resolve(name, version);
        var aborted = context.RequestAborted;
        var pool = context.RequestServices.GetRequiredService<RequestBufferPool>().Pool;
        var sharedMemory = context.RequestServices.GetRequiredService<SystemSharedMemory>();
        using var request = await HttpInferRequest.ReadAsync(context.Request, model.Metadata, aborted, pool, sharedMemory).ConfigureAwait(false);
        using var outputs = await model.Batcher.InferAsync(request.Inputs, aborted).ConfigureAwait(false);
        await HttpInferResponse.WriteAsync(context.Response, model, request.Id, outputs, request.Outputs, aborted, sharedMemory).ConfigureAwait(false);
    }
}
