namespace Histoscale.Archive.Tests.Support;

/// <summary>One set of test slides for a whole test class (slides are read-only to the archive).</summary>
public sealed class DataFixture : IDisposable
{
    public ArchiveData Data { get; } = new();

    public void Dispose() => Data.Dispose();
}
