using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Histoscale.Inference.Tensors;

/// <summary>A tensor with the model input/output name it belongs to.</summary>
public readonly record struct NamedTensor(string Name, Tensor Tensor);

/// <summary>
/// An ordered set of named tensors: a request's inputs or a response's outputs. The set owns its tensors:
/// disposing it disposes them (returning pooled memory). Lookups are linear because models have a handful of tensors.
/// </summary>
public sealed class TensorSet : IReadOnlyList<NamedTensor>, IDisposable
{
    private readonly List<NamedTensor> _items;

    public TensorSet() => _items = [];

    public TensorSet(int capacity) => _items = new List<NamedTensor>(capacity);

    public TensorSet(params NamedTensor[] items) => _items = [.. items];

    public int Count => _items.Count;

    public NamedTensor this[int index] => _items[index];

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    public Tensor this[string name] =>
        TryGet(name, out var tensor) ? tensor : throw new KeyNotFoundException($"no tensor named '{name}' (have: {string.Join(", ", _items.Select(i => i.Name))})");

    public TensorSet Add(string name, Tensor tensor)
    {
        if (TryGet(name, out _))
        {
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        }
        _items.Add(new NamedTensor(name, tensor));
        return this;
    }

    public bool TryGet(string name, [MaybeNullWhen(false)] out Tensor tensor)
    {
        foreach (var item in _items)
        {
            if (item.Name == name)
            {
                tensor = item.Tensor;
                return true;
            }
        }
        tensor = null;
        return false;
    }

    public List<NamedTensor>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<NamedTensor> IEnumerable<NamedTensor>.GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public void Dispose()
    {
        foreach (var item in _items)
        {
            item.Tensor.Dispose();
        }
        _items.Clear();
    }
}
