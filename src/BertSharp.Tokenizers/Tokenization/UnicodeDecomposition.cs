namespace BertSharp.Tokenization;

/// <summary>
/// Canonical decomposition (NFD) of single code points and canonical combining classes, for NFD's canonical reordering
/// (done by the tokenizer over runs of marks). <see cref="string.Normalize()"/> is unavailable under InvariantGlobalization,
/// so the tables are generated from the Unicode database as HF's normaliser has it (tools/gen_unicode_decomposition.py).
/// </summary>
internal static partial class UnicodeDecomposition
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = 19 * NCount;

    /// <summary>
    /// Writes the full canonical decomposition of <paramref name="cp"/> as UTF-16 into <paramref name="dest"/> (at least 8
    /// chars) and returns its length, or 0 when the code point does not decompose.
    /// </summary>
    public static int Decompose(int cp, Span<char> dest)
    {
        if (cp < 0xC0)
        {
            return 0;
        }
        var s = cp - SBase;
        if ((uint)s < SCount)
        {
            dest[0] = (char)(LBase + s / NCount);
            dest[1] = (char)(VBase + s % NCount / TCount);
            var t = s % TCount;
            if (t == 0)
            {
                return 2;
            }
            dest[2] = (char)(TBase + t);
            return 3;
        }
        var i = Keys.BinarySearch(cp);
        if (i < 0)
        {
            return 0;
        }
        var offsets = Offsets;
        var from = offsets[i];
        var len = offsets[i + 1] - from;
        Chars.AsSpan(from, len).CopyTo(dest);
        return len;
    }

    /// <summary>The canonical combining class of <paramref name="cp"/>: 0 for starters, 1–240 for combining marks.</summary>
    public static int CombiningClass(int cp)
    {
        if (cp < 0x300)
        {
            return 0;
        }
        var i = CombiningKeys.BinarySearch(cp);
        return i < 0 ? 0 : CombiningClasses[i];
    }
}
