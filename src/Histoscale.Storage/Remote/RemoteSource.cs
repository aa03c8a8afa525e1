using Histoscale.Slides;
using Histoscale.Slides.Sources;
using Polly;
using Polly.Timeout;

namespace Histoscale.Storage.Remote;

/// <summary>
/// An <see cref="ObjectReader"/> as a byte source, with the one retry policy every store shares: per-attempt
/// timeout, exponential backoff with jitter for transient failures, and a final <see cref="SlideException"/>
/// naming the URI and the last cause when the budget is spent or the store says no (403/404).
/// </summary>
internal sealed class RemoteSource : IByteSource
{
    private readonly ObjectReader _reader;
    private readonly ResiliencePipeline _pipeline;
    private readonly RetryOptions _retry;
    private long _retries;

    public RemoteSource(ObjectReader reader, RetryOptions retry)
    {
        _reader = reader;
        _retry = retry;
        _pipeline = RetryPolicy.Build(retry, () => Interlocked.Increment(ref _retries));
        Name = reader.Name;
        Identity = Run(ct => new ValueTask<SourceIdentity>(_reader.GetIdentityAsync(ct)), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        Length = Identity.Length;
    }

    public string Name { get; }

    public long Length { get; }

    /// <summary>The object's size and validators when it was opened.</summary>
    public SourceIdentity Identity { get; }

    /// <summary>Requests that were tried again (each attempt after the first).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public int Read(long offset, Span<byte> buffer)
    {
        // The SDKs are async-only (AWS) or async-first; decode threads block here, which is why the strategy
        // layer above serves most reads from memory without reaching this point.
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        return BlockingRead.Into(buffer, count, memory => ReadAsync(offset, memory).AsTask());
    }

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var count = Clamp(offset, buffer.Length);
        if (count == 0)
        {
            return 0;
        }
        var target = buffer[..count];
        await Run(async ct =>
        {
            await _reader.ReadRangeAsync(offset, target, ct).ConfigureAwait(false);
            return count;
        }, cancellationToken).ConfigureAwait(false);
        return count;
    }

    public void Dispose() => _reader.Dispose();

    private int Clamp(long offset, int wanted) => offset < 0 || offset >= Length ? 0 : (int)Math.Min(wanted, Length - offset);

    private async ValueTask<T> Run<T>(Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(action, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageRequestException ex)
        {
            throw Final(ex.Transient ? $"{ex.Cause} (gave up after {_retry.MaxAttempts} attempts)" : ex.Cause, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw Final($"request timed out after {_retry.AttemptTimeout.TotalSeconds:0.#} s (gave up after {_retry.MaxAttempts} attempts)", ex);
        }
        catch (Exception ex) when (RetryPolicy.IsNetworkFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw Final($"{ex.GetType().Name}: {ex.Message} (gave up after {_retry.MaxAttempts} attempts)", ex);
        }
    }

    private SlideException Final(string cause, Exception inner) => new(Name, cause, inner: inner);
}
