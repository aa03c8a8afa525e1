namespace Histoscale.Slides.Tests.Support;

/// <summary>
/// Locates the read-only reference data (../shared next to the repository). Tests that compare against it
/// skip, saying so, when it is absent; every other test makes its own data.
/// </summary>
public static class SharedData
{
    public static string? Root { get; } = Find();

    public static string SlidesDir => Path.Combine(Root!, "slides");

    public static void RequireSlides() =>
        Skip.If(Root is null, "peer comparison skipped: ../shared (OpenSlide reference slides) not found next to the repository");

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("HISTOSCALE_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(Path.Combine(env, "slides")))
        {
            return env;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "slides", "refs")))
            {
                return candidate;
            }
        }
        return null;
    }
}
