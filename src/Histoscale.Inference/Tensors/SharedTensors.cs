namespace Histoscale.Inference.Tensors;

/// <summary>
/// A set of tensors (a batch's outputs) shared by the views that requests get of it (<see cref="Tensor.SharedSlice"/>):
/// reference-counted, the set is disposed when the creator and every view have released it.
/// </summary>
internal sealed class SharedTensors(TensorSet tensors)
{
    private int _references = 1;

    public TensorSet Tensors { get; } = tensors;

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Tensors.Dispose();
        }
    }
}
