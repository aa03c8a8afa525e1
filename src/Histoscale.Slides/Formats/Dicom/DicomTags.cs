namespace Histoscale.Slides.Formats.Dicom;

/// <summary>The DICOM tags the whole-slide reader uses, as (group &lt;&lt; 16) | element, with their keywords.</summary>
internal static class DicomTags
{
    public const uint TransferSyntaxUid = 0x0002_0010;
    public const uint ImageType = 0x0008_0008;
    public const uint SopClassUid = 0x0008_0016;
    public const uint SopInstanceUid = 0x0008_0018;
    public const uint Modality = 0x0008_0060;
    public const uint Manufacturer = 0x0008_0070;
    public const uint StudyInstanceUid = 0x0020_000D;
    public const uint SeriesInstanceUid = 0x0020_000E;
    public const uint InstanceNumber = 0x0020_0013;
    public const uint ConcatenationFrameOffsetNumber = 0x0020_9228;
    public const uint DimensionOrganizationType = 0x0020_9311;
    public const uint SamplesPerPixel = 0x0028_0002;
    public const uint PhotometricInterpretation = 0x0028_0004;
    public const uint PlanarConfiguration = 0x0028_0006;
    public const uint NumberOfFrames = 0x0028_0008;
    public const uint Rows = 0x0028_0010;
    public const uint Columns = 0x0028_0011;
    public const uint PixelSpacing = 0x0028_0030;
    public const uint BitsAllocated = 0x0028_0100;
    public const uint PixelMeasuresSequence = 0x0028_9110;
    public const uint ImagedVolumeWidth = 0x0048_0001;
    public const uint ImagedVolumeHeight = 0x0048_0002;
    public const uint TotalPixelMatrixColumns = 0x0048_0006;
    public const uint TotalPixelMatrixRows = 0x0048_0007;
    public const uint OpticalPathSequence = 0x0048_0105;
    public const uint ObjectiveLensPower = 0x0048_0112;
    public const uint PlanePositionSlideSequence = 0x0048_021A;
    public const uint ColumnPositionInTotalImagePixelMatrix = 0x0048_021E;
    public const uint RowPositionInTotalImagePixelMatrix = 0x0048_021F;
    public const uint SharedFunctionalGroupsSequence = 0x5200_9229;
    public const uint PerFrameFunctionalGroupsSequence = 0x5200_9230;
    public const uint ExtendedOffsetTable = 0x7FE0_0001;
    public const uint ExtendedOffsetTableLengths = 0x7FE0_0002;
    public const uint PixelData = 0x7FE0_0010;
    public const uint Item = 0xFFFE_E000;
    public const uint ItemDelimitation = 0xFFFE_E00D;
    public const uint SequenceDelimitation = 0xFFFE_E0DD;

    /// <summary>Tags copied into <c>dicom.*</c> properties (top-level text and numbers of the base level's instance).</summary>
    public static readonly (uint Tag, string Keyword)[] PropertyKeywords =
    [
        (0x0008_0020, "StudyDate"), (0x0008_0030, "StudyTime"), (0x0008_0050, "AccessionNumber"), (Modality, "Modality"),
        (Manufacturer, "Manufacturer"), (0x0008_1090, "ManufacturerModelName"), (0x0018_1000, "DeviceSerialNumber"),
        (0x0018_1020, "SoftwareVersions"), (0x0008_103E, "SeriesDescription"), (0x0010_0020, "PatientID"),
        (StudyInstanceUid, "StudyInstanceUID"), (SeriesInstanceUid, "SeriesInstanceUID"), (0x0020_0010, "StudyID"),
        (0x0040_0512, "ContainerIdentifier"), (ImagedVolumeWidth, "ImagedVolumeWidth"), (ImagedVolumeHeight, "ImagedVolumeHeight"),
        (TotalPixelMatrixColumns, "TotalPixelMatrixColumns"), (TotalPixelMatrixRows, "TotalPixelMatrixRows"),
        (Columns, "Columns"), (Rows, "Rows"), (PhotometricInterpretation, "PhotometricInterpretation"),
        (DimensionOrganizationType, "DimensionOrganizationType"), (SopClassUid, "SOPClassUID"),
    ];

    /// <summary>Value representations for implicit VR data sets: only the tags read as numbers or sequences need one.</summary>
    public static string ImplicitVr(uint tag) => tag switch
    {
        SamplesPerPixel or PlanarConfiguration or Rows or Columns or BitsAllocated or 0x0028_0101 or 0x0028_0102 or 0x0028_0103 => "US",
        TotalPixelMatrixColumns or TotalPixelMatrixRows or ColumnPositionInTotalImagePixelMatrix or RowPositionInTotalImagePixelMatrix => "UL",
        0x0048_0303 => "UL",
        PixelSpacing or ObjectiveLensPower => "DS",
        NumberOfFrames or InstanceNumber => "IS",
        ConcatenationFrameOffsetNumber => "UL",
        ImagedVolumeWidth or ImagedVolumeHeight or 0x0048_0003 => "FL",
        PixelMeasuresSequence or OpticalPathSequence or PlanePositionSlideSequence or SharedFunctionalGroupsSequence or PerFrameFunctionalGroupsSequence => "SQ",
        0x0020_9111 or 0x0040_0560 or 0x0008_1115 or 0x0048_0008 => "SQ",
        ExtendedOffsetTable or ExtendedOffsetTableLengths => "OV",
        PixelData => "OW",
        _ => "UN",
    };
}
