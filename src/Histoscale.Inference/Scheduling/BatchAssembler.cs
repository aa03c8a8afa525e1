using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Scheduling;

/// <summary>
/// Joins requests into one batch along dimension 0 and splits the batch's outputs back, one view per request.
/// Batch tensors come from the batcher's bounded pool, sized for a full batch so every batch size reuses the same
/// buffers; each request's bytes are copied once, as one contiguous block per tensor; outputs are not copied.
/// </summary>
internal static class BatchAssembler
{
    /// <summary>Largest buffer rented for a full batch ahead of need (256 MiB); beyond it a batch gets its exact size.</summary>
    private const long MaxCapacityBytes = 256L << 20;

    /// <summary>Concatenates each input across requests (all requests have the same input names and item shapes).</summary>
    /// <param name="requests">The requests, in batch order.</param>
    /// <param name="totalItems">Their items together.</param>
    /// <param name="pool">Where the batch buffers come from; the shared array pool when null.</param>
    /// <param name="capacityItems">Items a buffer should hold (the max batch), so buffers serve every batch size.</param>
    public static TensorSet Concatenate(IReadOnlyList<TensorSet> requests, int totalItems, BoundedBufferPool? pool = null, int capacityItems = 0)
    {
        var first = requests[0];
        var batch = new TensorSet(first.Count);
        try
        {
            foreach (var (name, template) in first)
            {
                var shape = template.ShapeArray();
                shape[0] = totalItems;
                // Room for a full batch, so every batch size reuses the same buffers; exact size when that would be huge.
                var itemBytes = template.BatchSize == 0 ? 0L : template.ByteLength / template.BatchSize;
                var capacity = itemBytes * Math.Max(capacityItems, totalItems);
                var joined = pool is null ? Tensor.Rent(template.DataType, shape)
                    : Tensor.RentFrom(pool, template.DataType, shape, capacity <= MaxCapacityBytes ? (int)capacity : 0);
                batch.Add(name, joined);
                var target = joined.Bytes;
                var offset = 0;
                foreach (var request in requests)
                {
                    var source = request[name].Bytes;
                    source.CopyTo(target[offset..]);
                    offset += source.Length;
                }
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Items [start, start+count) of every output as views of the batch's outputs (no copy), owned by one request:
    /// disposing it releases its reference on <paramref name="outputs"/>, which is freed after the last one.
    /// </summary>
    public static TensorSet Slice(SharedTensors outputs, int start, int count)
    {
        var result = new TensorSet(outputs.Tensors.Count);
        try
        {
            foreach (var (name, tensor) in outputs.Tensors)
            {
                result.Add(name, Tensor.SharedSlice(tensor, start, count, outputs));
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Whether two requests can share a batch: same item shape for every input (matters for variable dims).</summary>
    public static bool SameItemShapes(TensorSet a, TensorSet b)
    {
        foreach (var (name, ta) in a)
        {
            if (!b.TryGet(name, out var tb) || !ta.Shape[1..].SequenceEqual(tb.Shape[1..]))
            {
                return false;
            }
        }
        return true;
    }
}
