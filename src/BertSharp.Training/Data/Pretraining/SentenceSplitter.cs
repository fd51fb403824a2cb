using System.Text;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// Rule-based English sentence splitter for building NSP segments: a sentence ends at <c>. ! ? …</c> (with any closing
/// quotes or brackets) when the next word starts like a sentence (capital letter, digit, or an opening quote before one).
/// A full stop does not end a sentence after a known abbreviation (<c>Mr.</c>, <c>e.g.</c>, <c>St.</c>), a single-letter
/// initial (<c>J. R. R.</c>) or a dotted acronym (<c>U.S.</c>); decimals (<c>3.14</c>) never split because no space follows.
/// </summary>
internal static class SentenceSplitter
{
    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "mme", "mlle", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "v", "e.g", "i.e", "cf", "viz",
        "capt", "col", "gen", "lt", "sgt", "maj", "cmdr", "adm", "rev", "hon", "gov", "pres", "sen", "rep", "esq", "messrs",
        "inc", "ltd", "co", "corp", "bros", "dept", "univ", "ave", "blvd", "rd", "vol", "vols", "ch", "chap",
        "pp", "fig", "approx", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "a.m", "p.m", "u.s", "u.k", "ph.d", "b.a", "m.a", "d.c",
    };

    // Abbreviations only before a number: as words they end sentences.
    private static readonly HashSet<string> NumberAbbreviations = new(StringComparer.OrdinalIgnoreCase) { "no", "nos" };

    private const string Terminators = ".!?…";
    private const string Closers = "\"'”’)]»";
    private const string Openers = "\"'“‘([«";

    /// <summary>Splits <paramref name="text"/> into trimmed, non-empty sentences, in order.</summary>
    public static List<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<string>();
        var start = 0;
        var n = text.Length;
        for (var i = 0; i < n; i++)
        {
            if (Terminators.IndexOf(text[i], StringComparison.Ordinal) < 0)
            {
                continue;
            }
            var runStart = i;
            while (i + 1 < n && Terminators.IndexOf(text[i + 1], StringComparison.Ordinal) >= 0)
            {
                i++;
            }
            var end = i + 1;
            while (end < n && Closers.IndexOf(text[end], StringComparison.Ordinal) >= 0)
            {
                end++;
            }
            if (end < n && !char.IsWhiteSpace(text[end]))
            {
                continue;
            }
            var next = end;
            while (next < n && char.IsWhiteSpace(text[next]))
            {
                next++;
            }
            if (next >= n)
            {
                break;
            }
            var isSingleStop = runStart == i && text[i] == '.';
            if (!(isSingleStop && IsAbbreviation(text, runStart, next)) && StartsSentence(text, next))
            {
                Add(sentences, text, start, end);
                start = next;
            }
            i = end - 1;
        }
        Add(sentences, text, start, n);
        return sentences;
    }

    private static bool StartsSentence(string text, int k)
    {
        var c = text[k];
        if (Openers.IndexOf(c, StringComparison.Ordinal) >= 0 && k + 1 < text.Length)
        {
            c = text[k + 1];
        }
        return char.IsUpper(c) || char.IsDigit(c);
    }

    // The word before the full stop at `dot`: letters and inner dots ("e.g", "U.S", "J"); `next` starts the following word.
    private static bool IsAbbreviation(string text, int dot, int next)
    {
        var b = dot;
        while (b > 0 && (char.IsLetter(text[b - 1]) || (text[b - 1] == '.' && b - 1 > 0 && char.IsLetter(text[b - 2]))))
        {
            b--;
        }
        if (b == dot)
        {
            return false;
        }
        var word = text[b..dot];
        if (word == "I")
        {
            // The pronoun far more often than an initial: after a lowercase word ("Neither do I.", "you and I.", "than I.")
            // it ends the sentence; after a name or at a sentence's start ("Bert I. Gordon", "I. Stanford Jolley") it is one.
            return !PrecededByLowercaseWord(text, b);
        }
        if (word.Length == 1 && char.IsUpper(word[0]))
        {
            return true;
        }
        if (NumberAbbreviations.Contains(word))
        {
            // "No. 5" numbers; "Was it good? No. It was dull." ends a sentence.
            return char.IsDigit(text[next]);
        }
        return Abbreviations.Contains(word) || (word.Contains('.', StringComparison.Ordinal) && word.Length <= 8);
    }

    private static bool PrecededByLowercaseWord(string text, int wordStart)
    {
        var k = wordStart - 1;
        while (k >= 0 && char.IsWhiteSpace(text[k]))
        {
            k--;
        }
        if (k == wordStart - 1 || k < 0 || !char.IsLetter(text[k]))
        {
            return false;
        }
        while (k > 0 && char.IsLetter(text[k - 1]))
        {
            k--;
        }
        return char.IsLower(text[k]);
    }

    private static void Add(List<string> sentences, string text, int start, int end)
    {
        if (end <= start)
        {
            return;
        }
        var s = text[start..end].Trim();
        if (s.Length > 0)
        {
            sentences.Add(CollapseSpaces(s));
        }
    }

    private static string CollapseSpaces(string s)
    {
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space && sb.Length > 0)
            {
                sb.Append(' ');
            }
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }
}
