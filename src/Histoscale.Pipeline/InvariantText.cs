using System.Globalization;

namespace Histoscale.Pipeline;

/// <summary>Text of values for settings keys, the same whatever the user's culture.</summary>
internal static class InvariantText
{
    /// <summary>
    /// <paramref name="value"/>'s <see cref="object.ToString"/> formatted under the invariant culture (a record's
    /// generated ToString formats its numbers in the current culture: "0,5" under de-DE would change a key).
    /// </summary>
    public static string Of(object? value)
    {
        if (value is IFormattable formattable)
        {
            return formattable.ToString(null, CultureInfo.InvariantCulture);
        }
        var culture = CultureInfo.CurrentCulture;
        if (ReferenceEquals(culture, CultureInfo.InvariantCulture))
        {
            return value?.ToString() ?? "";
        }
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture; // this thread only, restored below
            return value?.ToString() ?? "";
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
