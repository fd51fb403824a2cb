using System.Globalization;

namespace BertSharp.Evaluation;

/// <summary>
/// Python's notions of a word character and of whitespace, where the official evaluation scripts (written in Python) rely
/// on them and .NET's differ.
/// </summary>
internal static class PythonText
{
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
