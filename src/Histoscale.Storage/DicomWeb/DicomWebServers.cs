using System.Collections.Concurrent;

namespace Histoscale.Storage.DicomWeb;

/// <summary>
/// What the provider has learnt about DICOMweb servers, shared by every series it opens: which refuse frame lists
/// (<c>…/frames/1,2,3</c>), so a second series on the same server asks one frame per request from its first request
/// on, and the user is told once per server. Keyed by service root (the URL before <c>/studies/</c>). Thread-safe.
/// </summary>
internal sealed class DicomWebServers(Action<string>? warning)
{
    private readonly ConcurrentDictionary<string, bool> _refusingFrameLists = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="serviceRoot"/> is known to refuse frame lists.</summary>
    public bool RefusesFrameLists(string serviceRoot) => _refusingFrameLists.ContainsKey(serviceRoot);

    /// <summary>Remembers that <paramref name="serviceRoot"/> refuses frame lists; the first time, tells <paramref name="message"/>.</summary>
    public void RefusedFrameLists(string serviceRoot, string message)
    {
        if (_refusingFrameLists.TryAdd(serviceRoot, true))
        {
            warning?.Invoke(message);
        }
    }

    /// <summary>The service root of a series URL: everything before its <c>/studies/{S}/series/{S}</c>.</summary>
    public static string ServiceRoot(string seriesUrl)
    {
        var at = seriesUrl.LastIndexOf("/studies/", StringComparison.Ordinal);
        return at < 0 ? seriesUrl : seriesUrl[..at];
    }
}
