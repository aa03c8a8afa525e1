using Histoscale.Inference.Tensors;

namespace Histoscale.Inference.Scheduling;

/// <summary>
/// Joins requests into one batch along dimension 0 and splits the batch's outputs back, one slice per request.
/// Tensors are rented from the pool; every copy is one contiguous block per request and tensor.
/// </summary>
internal static class BatchAssembler
{
    /// <summary>Concatenates each input across requests (all requests have the same input names and item shapes).</summary>
    public static TensorSet Concatenate(IReadOnlyList<TensorSet> requests, int totalItems)
    {
        var first = requests[0];
        var batch = new TensorSet(first.Count);
        try
        {
            foreach (var (name, template) in first)
            {
                var shape = template.ShapeArray();
                shape[0] = totalItems;
                var joined = Tensor.Rent(template.DataType, shape);
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

    /// <summary>Copies items [start, start+count) of every output into a new set owned by one request.</summary>
    public static TensorSet Slice(TensorSet outputs, int start, int count)
    {
        var result = new TensorSet(outputs.Count);
        try
        {
            foreach (var (name, tensor) in outputs)
            {
                using var view = tensor.SliceBatch(start, count);
                var copy = Tensor.Rent(tensor.DataType, view.Shape);
                result.Add(name, copy);
                view.Bytes.CopyTo(copy.Bytes);
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
