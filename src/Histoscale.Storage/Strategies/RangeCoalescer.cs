using Histoscale.Slides.Sources;

namespace Histoscale.Storage.Strategies;

/// <summary>
/// Merges byte ranges into fewer requests: a range that overlaps the previous one, or starts at most
/// <c>maxGap</c> bytes after it ends, joins it while the merged request stays within <c>maxLength</c>. Order is
/// kept (it is the order the reader will need them); only neighbours in that order merge, so a plan in file order
/// coalesces fully and an out-of-order plan is never delayed by sorting.
/// </summary>
internal static class RangeCoalescer
{
    /// <param name="ranges">Ranges in the order they will be needed.</param>
    /// <param name="maxGap">Largest gap worth fetching to save a request; negative: never merge distinct ranges.</param>
    /// <param name="maxLength">Largest merged request (a single range longer than this is kept whole).</param>
    public static List<ByteRange> Coalesce(IEnumerable<ByteRange> ranges, long maxGap, int maxLength)
    {
        var result = new List<ByteRange>();
        foreach (var r in ranges)
        {
            if (r.Length <= 0)
            {
                continue;
            }
            if (result.Count > 0)
            {
                var last = result[^1];
                var overlaps = r.Offset < last.End && r.End > last.Offset;
                var follows = r.Offset >= last.End && r.Offset - last.End <= maxGap;
                var start = Math.Min(last.Offset, r.Offset);
                var end = Math.Max(last.End, r.End);
                if ((overlaps || (maxGap >= 0 && follows)) && end - start <= maxLength)
                {
                    result[^1] = new ByteRange(start, (int)(end - start));
                    continue;
                }
            }
            result.Add(r);
        }
        return result;
    }
}
