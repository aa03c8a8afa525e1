using Histoscale.KServe;

namespace Histoscale.Inference.Tests.KServe;

/// <summary>
/// The remote backends' retry policy (Polly, configured by <see cref="RemoteBackendOptions"/>): "unavailable" is
/// tried again within the attempt budget, every other failure is final. The end-to-end cases (a server answering
/// UNAVAILABLE, a server restarting) are the server tests' RemoteBackendTests and RestartAndShutdownTests.
/// </summary>
public sealed class RemoteRetryTests
{
    private static readonly RemoteBackendOptions Fast = new()
    {
        MaxAttempts = 5,
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        MaxBackoff = TimeSpan.FromMilliseconds(10),
    };

    [Fact]
    public async Task Unavailable_is_retried_until_served()
    {
        var attempts = 0;
        var result = await RemoteRetry.Create(Fast).ExecuteAsync(_ =>
            ++attempts < 3 ? throw new InferenceUnavailableException("queue full") : ValueTask.FromResult(42), CancellationToken.None);
        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task The_budget_ends_with_the_last_unavailable_answer()
    {
        var attempts = 0;
        var ex = await Assert.ThrowsAsync<InferenceUnavailableException>(async () => await RemoteRetry.Create(Fast).ExecuteAsync<int>(_ =>
        {
            attempts++;
            throw new InferenceUnavailableException($"attempt {attempts}");
        }, CancellationToken.None));
        Assert.Equal(Fast.MaxAttempts, attempts);
        Assert.Equal("attempt 5", ex.Message);
    }

    [Fact]
    public async Task Other_failures_are_not_retried()
    {
        var attempts = 0;
        await Assert.ThrowsAsync<InferenceRequestException>(async () => await RemoteRetry.Create(Fast).ExecuteAsync<int>(_ =>
        {
            attempts++;
            throw new InferenceRequestException("bad shape");
        }, CancellationToken.None));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task No_retry_options_make_one_attempt()
    {
        var attempts = 0;
        await Assert.ThrowsAsync<InferenceUnavailableException>(async () => await RemoteRetry.Create(RemoteBackendOptions.NoRetry(1)).ExecuteAsync<int>(_ =>
        {
            attempts++;
            throw new InferenceUnavailableException("down");
        }, CancellationToken.None));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Cancellation_stops_the_retries()
    {
        using var cts = new CancellationTokenSource();
        var attempts = 0;
        var slow = Fast with { InitialBackoff = TimeSpan.FromSeconds(30), MaxBackoff = TimeSpan.FromSeconds(30) };
        var run = RemoteRetry.Create(slow).ExecuteAsync<int>(_ =>
        {
            attempts++;
            cts.Cancel(); // the caller gives up while the first answer is "unavailable"
            throw new InferenceUnavailableException("down");
        }, cts.Token).AsTask();
        await Assert.ThrowsAnyAsync<Exception>(() => run).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public void A_connection_the_server_closed_under_a_call_is_unavailable_and_other_internal_errors_are_final()
    {
        // What grpc-dotnet raises when a restarting server's GOAWAY closes the connection a call was starting on.
        var closed = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "Error starting gRPC call. HttpRequestException: The HTTP/2 server closed the connection.",
            new HttpRequestException("The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0).")));
        Assert.IsType<InferenceUnavailableException>(GrpcStatusMapping.ToException(closed, "inference"));
        var broken = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "model crashed"));
        Assert.IsType<RemoteInferenceException>(GrpcStatusMapping.ToException(broken, "inference"));
    }
}
