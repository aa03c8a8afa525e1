namespace Histoscale.Archive;

/// <summary>What a token may do in a collection; each role includes the ones before it.</summary>
public enum ArchiveRole
{
    /// <summary>List and view slides, tiles, overlays and annotations.</summary>
    Read = 1,

    /// <summary>Read, and create, change and delete annotations.</summary>
    Annotate = 2,

    /// <summary>Annotate, and rescan collections.</summary>
    Admin = 3,
}
