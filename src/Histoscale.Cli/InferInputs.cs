using Histoscale.Pipeline.Inputs;
using Histoscale.Slides.Formats;
using Histoscale.Storage;

namespace Histoscale.Cli;

/// <summary>
/// The input set of <c>infer</c>: local paths, folders, globs and @manifests expand through the pipeline's rules;
/// URIs (a bucket/container prefix such as s3://bucket/dir/) and .txt manifests of URIs expand through the
/// storage layer, which can list object stores. Either way folders and prefixes list the extensions of
/// <paramref name="formats"/>, the formats the slides will be opened with. Order is kept and duplicates dropped.
/// </summary>
public static class InferInputs
{
    public static async Task<IReadOnlyList<string>> ExpandAsync(IEnumerable<string> arguments, ObjectStoreProvider objectStores, IReadOnlyList<ISlideFormat> formats, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            var remoteOrManifest = argument.Contains("://", StringComparison.Ordinal) ||
                (!argument.StartsWith('@') && argument.EndsWith(".txt", StringComparison.OrdinalIgnoreCase));
            var expanded = remoteOrManifest
                ? await Storage.Inputs.SlideInputs.ExpandAsync(argument, objectStores, formats, cancellationToken).ConfigureAwait(false)
                : SlideInputs.Expand([argument], formats);
            foreach (var slide in expanded)
            {
                if (seen.Add(slide))
                {
                    result.Add(slide);
                }
            }
        }
        return result;
    }
}
