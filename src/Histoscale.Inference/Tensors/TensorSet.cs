using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Histoscale.Inference.Tensors;

/// <summary>A tensor with the model input/output name it belongs to.</summary>
/// <param name="Name">Input or output name in the model.</param>
/// <param name="Tensor">The tensor.</param>
public readonly record struct NamedTensor(string Name, Tensor Tensor);

/// <summary>
/// An ordered set of named tensors: a request's inputs or a response's outputs. The set owns its tensors:
/// disposing it disposes them (returning pooled memory). Lookups are linear because models have a handful of tensors.
/// </summary>
public sealed class TensorSet : IReadOnlyList<NamedTensor>, IDisposable
{
    private readonly List<NamedTensor> _items;

    /// <summary>An empty set.</summary>
    public TensorSet() => _items = [];

    /// <summary>An empty set with room for <paramref name="capacity"/> tensors.</summary>
    public TensorSet(int capacity) => _items = new List<NamedTensor>(capacity);

    /// <summary>A set owning <paramref name="items"/>, in order (names are not checked for duplicates here).</summary>
    public TensorSet(params NamedTensor[] items) => _items = [.. items];

    /// <summary>Number of tensors.</summary>
    public int Count => _items.Count;

    /// <summary>The tensor at <paramref name="index"/>, in insertion order.</summary>
    public NamedTensor this[int index] => _items[index];

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    public Tensor this[string name] =>
        TryGet(name, out var tensor) ? tensor : throw new KeyNotFoundException($"no tensor named '{name}' (have: {string.Join(", ", _items.Select(i => i.Name))})");

    /// <summary>Appends <paramref name="tensor"/> under <paramref name="name"/>; the set takes ownership. Returns this set, for chaining.</summary>
    /// <exception cref="ArgumentException">A tensor with that name is already in the set.</exception>
    public TensorSet Add(string name, Tensor tensor)
    {
        if (TryGet(name, out _))
        {
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        }
        _items.Add(new NamedTensor(name, tensor));
        return this;
    }

    /// <summary>Finds the tensor called <paramref name="name"/> (ordinal comparison).</summary>
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

    /// <summary>Enumerates the tensors in insertion order without allocating.</summary>
    public List<NamedTensor>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<NamedTensor> IEnumerable<NamedTensor>.GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Disposes every tensor in the set.</summary>
    public void Dispose()
    {
        foreach (var item in _items)
        {
            item.Tensor.Dispose();
        }
        _items.Clear();
    }
}
