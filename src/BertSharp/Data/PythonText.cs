using System.Globalization;
using System.Text;

namespace BertSharp.Data;

/// <summary>
/// Python's notions of a word character and of whitespace, where the official evaluation scripts (written in Python) rely
/// on them and .NET's differ.
/// </summary>
internal static class PythonText
{
    /// <summary>
    /// Python's <c>str.lower()</c>: .NET's invariant lower case, but for the two full mappings Python applies and .NET does
    /// not: 'İ' (U+0130) becomes "i̇" (i and a combining dot), and a capital sigma ending a word becomes 'ς'.
    /// </summary>
    public static string Lower(string text)
    {
        var lower = text.ToLowerInvariant();
        if (!text.Contains('\u0130', StringComparison.Ordinal) && !text.Contains('\u03a3', StringComparison.Ordinal))
        {
            return lower;
        }
        // ToLowerInvariant maps one UTF-16 unit to one, so lower[i] is text[i]'s lower case.
        var result = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            result.Append(text[i] switch
            {
                '\u0130' => "i\u0307",
                '\u03a3' => FinalSigma(text, i) ? "\u03c2" : "\u03c3",
                _ => lower[i].ToString(),
            });
        }
        return result.ToString();
    }

    // Unicode's Final_Sigma condition, as CPython's handle_capital_sigma tests it: a cased letter before the sigma and none
    // after it, case-ignorable characters (accents, apostrophes, periods) skipped on both sides.
    private static bool FinalSigma(string text, int i)
    {
        var before = text.AsSpan(0, i);
        while (Rune.DecodeLastFromUtf16(before, out var r, out var n) == System.Buffers.OperationStatus.Done)
        {
            if (!IsCaseIgnorable(r))
            {
                if (!IsCased(r))
                {
                    return false;
                }
                var after = text.AsSpan(i + 1);
                while (Rune.DecodeFromUtf16(after, out var next, out var m) == System.Buffers.OperationStatus.Done)
                {
                    if (!IsCaseIgnorable(next))
                    {
                        return !IsCased(next);
                    }
                    after = after[m..];
                }
                return true;
            }
            before = before[..^n];
        }
        return false;
    }

    // The Cased property: Lu, Ll, Lt, and the Other_Uppercase / Other_Lowercase characters of other categories that are
    // not case-ignorable (ª, º, Roman numerals, circled and squared letters).
    private static bool IsCased(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || r.Value is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9) or (>= 0x1F130 and <= 0x1F149)
            or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);

    // Case_Ignorable: Mn, Me, Cf, Lm, Sk, and the Word_Break classes MidLetter, MidNumLet and Single_Quote.
    private static bool IsCaseIgnorable(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || r.Value is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027 or 0xFE13
            or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;

    /// <summary>
    /// Whether the character at <paramref name="i"/> is one Python's <c>re</c> <c>\w</c> matches in a str pattern
    /// (<c>str.isalnum()</c> or '_': a letter or number by code point); <paramref name="width"/> is 2 for a surrogate pair.
    /// </summary>
    public static bool IsWordChar(string text, int i, out int width)
    {
        width = char.IsSurrogatePair(text, i) ? 2 : 1;
        if (text[i] == '_')
        {
            return true;
        }
        var category = width == 2 ? CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text, i)) : CharUnicodeInfo.GetUnicodeCategory(text[i]);
        return category is >= UnicodeCategory.UppercaseLetter and <= UnicodeCategory.OtherLetter
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
    }

    /// <summary>
    /// Python's <c>str.split()</c>: the runs between whitespace, which is .NET's whitespace and the information separators
    /// U+001C–U+001F (bidirectional class B/S, whitespace to Python and not to .NET).
    /// </summary>
    public static List<string> Split(string text)
    {
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var space = i == text.Length || char.IsWhiteSpace(text[i]) || text[i] is >= '\u001c' and <= '\u001f';
            if (space && start >= 0)
            {
                tokens.Add(text[start..i]);
                start = -1;
            }
            else if (!space && start < 0)
            {
                start = i;
            }
        }
        return tokens;
    }
}
