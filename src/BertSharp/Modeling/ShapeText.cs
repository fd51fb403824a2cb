using System.Globalization;

namespace BertSharp.Modeling;

/// <summary>Tensor shapes (sizes, strides, a graph's dims) as the text of messages and signatures.</summary>
internal static class ShapeText
{
    /// <summary>
    /// The dimensions joined by <paramref name="separator"/>, "2, 128" by default, in the invariant culture whatever the
    /// host's: string.Join of the numbers writes each in the current culture (a negative one as "−1" in sv-SE), which
    /// BSA0002 refuses.
    /// </summary>
    public static string Join(IEnumerable<long> dims, string separator = ", ") =>
        string.Join(separator, dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}
