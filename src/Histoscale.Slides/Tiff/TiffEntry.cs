namespace Histoscale.Slides.Tiff;

/// <summary>One IFD entry as stored: tag, type, count, and either the inline value bytes or the offset of the value.</summary>
internal readonly record struct TiffEntry(ushort Tag, TiffType Type, long Count, long ValueOffset, ulong InlineBits, bool IsInline)
{
    public static int TypeSize(TiffType type) => type switch
    {
        TiffType.Byte or TiffType.Ascii or TiffType.SByte or TiffType.Undefined => 1,
        TiffType.Short or TiffType.SShort => 2,
        TiffType.Long or TiffType.SLong or TiffType.Float or TiffType.Ifd => 4,
        TiffType.Rational or TiffType.SRational or TiffType.Double or TiffType.Long8 or TiffType.SLong8 or TiffType.Ifd8 => 8,
        _ => 0,
    };

    /// <summary>Size of the value in bytes, or -1 if it overflows (a lying header).</summary>
    public long ByteSize
    {
        get
        {
            var size = TypeSize(Type);
            if (size == 0 || Count < 0 || Count > long.MaxValue / size)
            {
                return -1;
            }
            return Count * size;
        }
    }
}
