using System.Text;

namespace BertSharp.Tokenization;

/// <summary>
/// Character classes exactly as HF's BertNormalizer / BertPreTokenizer define them. Categories come from Unicode 8.0
/// (the tables HF <c>tokenizers</c> is built with), not from .NET's newer ones; whitespace and case mapping follow Rust's
/// current tables, as in HF.
/// </summary>
internal static partial class UnicodeChars
{
    /// <summary>ASCII classes: 0 = word char, 1 = whitespace, 2 = punctuation, 3 = control (removed by clean-up).</summary>
    internal static ReadOnlySpan<byte> AsciiClass =>
    [
        3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 3, 3, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
        1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2,
        2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2,
        2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 3,
    ];

    public const byte Word = 0, Space = 1, Punct = 2, Control = 3;

    /// <summary>Rust's <c>char::is_whitespace</c> (the Unicode White_Space property).</summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F
            or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>
    /// HF's <c>is_control</c>: Cc, Cf or Co (not unassigned code points) except TAB, LF and CR. A lone surrogate counts
    /// too: HF never sees one (it receives U+FFFD instead, which clean-up removes as well).
    /// </summary>
    public static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r')
        {
            return false;
        }
        return cp is >= 0xD800 and <= 0xDFFF || InRanges(OtherRanges, cp);
    }

    /// <summary>HF's <c>is_bert_punc</c>: ASCII punctuation (all non-alphanumeric printable ASCII) or any Unicode P* category.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 0x80)
        {
            return AsciiClass[cp] == Punct;
        }
        return InRanges(PunctuationRanges, cp);
    }

    /// <summary>The CJK ideograph blocks HF surrounds with spaces (not Hangul, Hiragana or Katakana).</summary>
    public static bool IsChinese(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    public static bool IsNonSpacingMark(int cp) => cp >= 0x300 && InRanges(NonSpacingMarkRanges, cp);

    /// <summary>Binary search in sorted inclusive [start, end] pairs.</summary>
    private static bool InRanges(ReadOnlySpan<int> ranges, int cp)
    {
        int lo = 0, hi = (ranges.Length >> 1) - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            if (cp < ranges[mid << 1])
            {
                hi = mid - 1;
            }
            else if (cp > ranges[(mid << 1) + 1])
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Lowercases one code point as Rust's <c>char::to_lowercase</c> does: writes 1 to 3 UTF-16 units into
    /// <paramref name="dest"/> and returns how many. U+0130 is the only code point whose lowercase is two code points.
    /// </summary>
    public static int ToLower(int cp, Span<char> dest)
    {
        if (cp < 0x80)
        {
            dest[0] = (char)(cp is >= 'A' and <= 'Z' ? cp | 0x20 : cp);
            return 1;
        }
        if (cp == 0x130)
        {
            dest[0] = 'i';
            dest[1] = '\u0307';
            return 2;
        }
        if (!Rune.IsValid(cp))
        {
            dest[0] = (char)cp;
            return 1;
        }
        return Rune.ToLowerInvariant(new Rune(cp)).EncodeToUtf16(dest);
    }
}
