using Histoscale.Server.Kserve.Grpc;
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
        using var request = await HttpInferRequest.ReadAsync(context.Request, model.Metadata, aborted, pool).ConfigureAwait(false);
        using var outputs = await model.Batcher.InferAsync(request.Inputs, aborted).ConfigureAwait(false);
        await HttpInferResponse.WriteAsync(context.Response, model, request.Id, outputs, request.Outputs, aborted).ConfigureAwait(false);
    }
}
