using System.Buffers;
using System.Globalization;
using System.Text;

namespace BertSharp;

/// <summary>
/// Makes text from untrusted files safe to print on a terminal: names in a checkpoint, a config or a data file can hold
/// escape sequences (ESC [ … m, OSC 8 hyperlinks, cursor moves) or bidirectional overrides that would rewrite what the user
/// sees. Every such character becomes a visible <c>\xNN</c> / <c>\uNNNN</c> escape; all other text is unchanged.
/// </summary>
internal static class SafeText
{
    /// <summary>
    /// <paramref name="text"/> with C0/C1 control characters (tab, newline and carriage return included), DEL, bidirectional
    /// controls and unpaired surrogates written as escapes, e.g. <c>"a\x1b[31mb"</c> → <c>a\x1b[31mb</c> printed literally.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }
        var i = 0;
        while (i < text.Length && !NeedsEscape(text, i))
        {
            i++;
        }
        if (i == text.Length)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else if (!NeedsEscape(text, i))
            {
                sb.Append(c);
            }
            else if (c < 0x100)
            {
                sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The bidirectional embeddings, overrides and isolates and the directional marks: each reorders what follows it on
    /// screen ("Trojan Source"), so text shown on a terminal, JSON included (<see cref="TerminalJsonEncoder"/>), escapes them.
    /// </summary>
    public static readonly SearchValues<char> BidiControls =
        SearchValues.Create("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");

    /// <summary>Whether <paramref name="scalar"/> is one of <see cref="BidiControls"/>.</summary>
    public static bool IsBidiControl(int scalar) => scalar is >= 0 and <= char.MaxValue && BidiControls.Contains((char)scalar);

    /// <summary>Whether the character at <paramref name="i"/> is one <see cref="Escape"/> writes as an escape.</summary>
    public static bool NeedsEscape(string s, int i)
    {
        var c = s[i];
        if (c < 0x20 || c is >= '\u007f' and <= '\u009f')
        {
            return true;
        }
        if (IsBidiControl(c))
        {
            return true;
        }
        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        }
        return char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(s[i - 1]));
    }
}
