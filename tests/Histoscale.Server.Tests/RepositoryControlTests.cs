using System.Net;
using Grpc.Core;
using Histoscale.KServe.Protocol;
using Histoscale.Server.Tests.Support;

namespace Histoscale.Server.Tests;

/// <summary>Models load, reload and unload at runtime, over both transports, while the server keeps running.</summary>
[Collection(ServerCollection.Name)]
public sealed class RepositoryControlTests(ServerFixture server)
{
    private const int T = TestRepository.Tile;

    [Fact]
    public async Task UnloadAndLoadOverHttpAndGrpc()
    {
        var pixels = Requests.Pixels(1, T, 21);
        var request = Requests.Grpc("reloadable", "image", "UINT8", [1, 3, T, T], pixels);
        await server.Grpc.ModelInferAsync(request);

        using (var unload = await server.Http.PostAsync("/v2/repository/models/reloadable/unload", null))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/reloadable/ready")).StatusCode);
        Assert.False((await server.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "reloadable" })).Ready);
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.ModelInferAsync(request));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        var index = await server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest());
        var entry = Assert.Single(index.Models, m => m.Name == "reloadable");
        Assert.Equal("UNAVAILABLE", entry.State);
        Assert.Equal("unloaded", entry.Reason);
        // Other models are untouched.
        await server.Grpc.ModelInferAsync(Requests.Grpc("mean_u8", "image", "UINT8", [1, 3, T, T], pixels));

        await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "reloadable" });
        Assert.True((await server.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "reloadable" })).Ready);
        var again = await server.Grpc.ModelInferAsync(request);
        Assert.Equal(Requests.Means(pixels, 1)[0], Requests.Floats(again.RawOutputContents[0])[0], 0.01f);

        // Reload while loaded: the model keeps answering.
        using (var load = await server.Http.PostAsync("/v2/repository/models/reloadable/load", null))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        await server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "reloadable" });
        await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "reloadable" });
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/reloadable/ready")).StatusCode);
    }

    [Fact]
    public async Task LoadingUnknownOrBrokenModelsFails()
    {
        using var missing = await server.Http.PostAsync("/v2/repository/models/does_not_exist/load", null);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("does_not_exist", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var broken = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "broken" }));
        Assert.Equal(StatusCode.InvalidArgument, broken.StatusCode);
        Assert.Contains("tensorflow_graphdef", broken.Status.Detail, StringComparison.Ordinal);

        using var withConfig = await server.Http.PostAsync("/v2/repository/models/mean_u8/load",
            Requests.Json(new System.Text.Json.Nodes.JsonObject { ["parameters"] = new System.Text.Json.Nodes.JsonObject { ["config"] = "{}" } }));
        Assert.Equal(HttpStatusCode.BadRequest, withConfig.StatusCode);
        Assert.Contains("not supported", await withConfig.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unloadMissing = await server.Http.PostAsync("/v2/repository/models/does_not_exist/unload", null);
        Assert.Equal(HttpStatusCode.NotFound, unloadMissing.StatusCode);
        Assert.True((await server.Grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task UnloadLetsInFlightRequestsFinish()
    {
        var pixels = Requests.Pixels(1, T, 22);
        await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "reloadable" });
        var inFlight = Enumerable.Range(0, 16)
            .Select(_ => server.Grpc.ModelInferAsync(Requests.Grpc("reloadable", "image", "UINT8", [1, 3, T, T], pixels)).ResponseAsync)
            .ToList();
        await Task.Delay(1);
        var unload = server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "reloadable" }).ResponseAsync;
        foreach (var call in inFlight)
        {
            try
            {
                var r = await call;
                Assert.Equal(Requests.Means(pixels, 1)[0], Requests.Floats(r.RawOutputContents[0])[0], 0.01f);
            }
            catch (RpcException ex)
            {
                // Requests that arrived after the unload began are refused cleanly, never lost or half-answered.
                Assert.True(ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable, ex.ToString());
            }
        }
        await unload;
        await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "reloadable" });
    }
}
