using Histoscale.Pipeline.Inputs;
using Histoscale.Storage;

namespace Histoscale.Cli;

/// <summary>
/// The input set of <c>infer</c>: local paths, folders, globs and @manifests expand through the pipeline's rules;
/// URIs (a bucket/container prefix such as s3://bucket/dir/) and .txt manifests of URIs expand through the
/// storage layer, which can list object stores. Order is kept and duplicates dropped.
/// </summary>
public static class InferInputs
{
    public static async Task<IReadOnlyList<string>> ExpandAsync(IEnumerable<string> arguments, ObjectStoreProvider objectStores, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in arguments)
        {
            var remoteOrManifest = argument.Contains("://", StringComparison.Ordinal) ||
                (!argument.StartsWith('@') && argument.EndsWith(".txt", StringComparison.OrdinalIgnoreCase));
            var expanded = remoteOrManifest
                ? await Storage.Inputs.SlideInputs.ExpandAsync(argument, objectStores, cancellationToken).ConfigureAwait(false)
                : SlideInputs.Expand([argument]);
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
