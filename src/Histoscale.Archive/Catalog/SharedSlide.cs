using System.Security.Cryptography;
using System.Text;
using Histoscale.Slides;

namespace Histoscale.Archive.Catalog;

/// <summary>
/// An open reader (a slide or an overlay image) shared by the catalog and the requests using it. The catalog holds
/// one reference while the reader is in it; each request holds one while it reads. A rescan that replaces the
/// reader retires it (drops the catalog's reference); it is closed when the last request lets go, never under one.
/// </summary>
internal sealed class SharedSlide
{
    private int _references = 1; // the catalog's
    private int _retired;

    public SharedSlide(Slide slide)
    {
        Slide = slide;
        // What the bytes are, short: tile-cache keys and ETags carry it, so a render from a replaced file is never
        // served for the new one. A source that cannot say what its bytes are gets a revision of its own per open.
        Revision = slide.SourceIdentity is { } identity
            ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16]
            : "open-" + Guid.NewGuid().ToString("N")[..12];
    }

    public Slide Slide { get; }

    /// <summary>Identifies the reader's content: equal for the same bytes, different for a replaced file.</summary>
    public string Revision { get; }

    /// <summary>Whether the reader has been closed (retired and released by every request).</summary>
    public bool IsClosed => Volatile.Read(ref _references) == 0;

    /// <summary>Takes a reference unless the reader is already closed.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var n = Volatile.Read(ref _references);
            if (n == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _references, n + 1, n) == n)
            {
                return true;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Slide.Dispose();
        }
    }

    /// <summary>Drops the catalog's reference (once); the reader closes now if no request holds it.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }
}

/// <summary>The readers one request holds (a slide and its overlays); disposing releases them, once.</summary>
internal sealed class SlideLease : IDisposable
{
    private SharedSlide[]? _held;

    private SlideLease(SharedSlide[] held)
    {
        _held = held;
    }

    /// <summary>Acquires every reader, or none (and null) when one of them is already closed.</summary>
    public static SlideLease? TryAcquire(IReadOnlyList<SharedSlide> readers)
    {
        var held = new SharedSlide[readers.Count];
        for (var i = 0; i < readers.Count; i++)
        {
            if (!readers[i].TryAcquire())
            {
                for (var j = 0; j < i; j++)
                {
                    held[j].Release();
                }
                return null;
            }
            held[i] = readers[i];
        }
        return new SlideLease(held);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _held, null) is { } held)
        {
            foreach (var reader in held)
            {
                reader.Release();
            }
        }
    }
}
