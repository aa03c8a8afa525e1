using System.Globalization;
using Histoscale.Inference;

namespace Histoscale.Server.Kserve;

/// <summary>
/// The bytes of inference requests the server holds at once — queued, running or being answered — capped at
/// <see cref="Limit"/> (<see cref="InferenceServerOptions.MemoryBudgetBytes"/>). A request that would go beyond it
/// is refused as unavailable (HTTP 503 / gRPC UNAVAILABLE), as Triton's queue policy refuses a full queue, and the
/// client retries later; the reservation is given back when the answer has been written. 0 = no limit.
/// </summary>
internal sealed class MemoryBudget(long limit)
{
    private long _used;
    private long _rejected;

    /// <summary>The cap in bytes; 0 = unlimited (only counted).</summary>
    public long Limit { get; } = Math.Max(0, limit);

    /// <summary>Bytes reserved now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Requests refused so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Reserves <paramref name="bytes"/>; the error to answer with when that would exceed the budget.</summary>
    public bool TryReserve(long bytes, out string? error)
    {
        error = null;
        bytes = Math.Max(0, bytes);
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (Limit > 0 && used + bytes > Limit && bytes > 0)
            {
                Interlocked.Increment(ref _rejected);
                error = bytes > Limit
                    ? string.Create(CultureInfo.InvariantCulture, $"request of {bytes} bytes exceeds the server's memory budget of {Limit} bytes (--memory-budget)")
                    : string.Create(CultureInfo.InvariantCulture, $"Exceeds memory budget: {used} of {Limit} bytes are held by queued and running requests, this one needs {bytes} (--memory-budget); retry later");
                return false;
            }
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    /// <summary>Reserves or throws <see cref="InferenceUnavailableException"/>.</summary>
    public bool Reserve(long bytes) => TryReserve(bytes, out var error) ? true : throw new InferenceUnavailableException(error!);

    /// <summary>Gives back what <see cref="TryReserve"/> reserved.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -Math.Max(0, bytes));
}
