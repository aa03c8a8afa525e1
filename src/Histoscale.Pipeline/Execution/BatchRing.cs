using Histoscale.Inference.Tensors;

namespace Histoscale.Pipeline.Execution;

/// <summary>A batch buffer: the tensor tiles are packed into and which batch (by sequence) currently owns it.</summary>
internal sealed class BatchSlot(Tensor tensor, int sequence)
{
    public Tensor Tensor { get; } = tensor;

    /// <summary>Batch sequence number the slot holds; advanced by the ring size on release.</summary>
    public int Sequence { get; set; } = sequence;

    /// <summary>Tiles packed so far; the batch is complete when it reaches <see cref="Count"/>.</summary>
    public int Filled;

    public int Count { get; set; }

    public int FirstTile { get; set; }
}

/// <summary>
/// A fixed ring of batch buffers shared by the read workers and the inference stage. Batch k lives in slot
/// k mod size; a worker with a tile of batch k waits until the slot's previous batch (k − size) has been inferred
/// and released. This bounds memory to the ring whatever the slide size, and is the pipeline's backpressure.
/// </summary>
internal sealed class BatchRing : IDisposable
{
    private readonly BatchSlot[] _slots;
    private readonly Func<int, (int First, int Count)> _batchRange;

    public BatchRing(int size, Func<Tensor> allocate, Func<int, (int First, int Count)> batchRange)
    {
        _batchRange = batchRange;
        _slots = new BatchSlot[size];
        for (var i = 0; i < size; i++)
        {
            _slots[i] = new BatchSlot(allocate(), i);
            Assign(_slots[i], i);
        }
    }

    public int Size => _slots.Length;

    /// <summary>Waits until batch <paramref name="sequence"/> owns its slot; returns it.</summary>
    public BatchSlot Acquire(int sequence, CancellationToken cancellationToken)
    {
        var slot = _slots[sequence % _slots.Length];
        lock (slot)
        {
            while (slot.Sequence != sequence)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Timed wait so cancellation is noticed even if nobody pulses.
                Monitor.Wait(slot, 50);
            }
        }
        return slot;
    }

    /// <summary>Hands the slot to the batch <see cref="Size"/> later and wakes workers waiting for it.</summary>
    public void Release(BatchSlot slot)
    {
        lock (slot)
        {
            Assign(slot, slot.Sequence + _slots.Length);
            Monitor.PulseAll(slot);
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Tensor.Dispose();
        }
    }

    private void Assign(BatchSlot slot, int sequence)
    {
        var (first, count) = _batchRange(sequence);
        slot.Filled = 0;
        slot.FirstTile = first;
        slot.Count = count;
        slot.Sequence = sequence;
    }
}
