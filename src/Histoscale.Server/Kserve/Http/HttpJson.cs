using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Histoscale.Server.Kserve.Http;

/// <summary>JSON bodies for the REST endpoints, and Triton's error shape <c>{"error": "..."}</c> with its status mapping.</summary>
internal static class HttpJson
{
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }, status);

    /// <summary>Runs a handler and turns its exceptions into Triton-shaped errors (the server keeps serving).</summary>
    public static RequestDelegate Handle(Func<HttpContext, Task> handler) => async context =>
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            if (ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
            {
                return; // the client went away; nobody to answer
            }
            if (!ErrorMapping.IsExpected(ex))
            {
                context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Histoscale.Server.Http")
                    .LogError(ex, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            }
            await WriteErrorAsync(context, ErrorMapping.HttpStatus(ex), ex.Message).ConfigureAwait(false);
        }
    };
}
