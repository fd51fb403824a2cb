using System.Buffers;

namespace BertSharp.Tokenization;

/// <summary>
/// HF's added-token splitting, <c>BertNormalizer</c> and <c>BertPreTokenizer</c> fused into one pass over the text:
/// special tokens are matched literally in the raw text, every other code point is cleaned, isolated if CJK,
/// decomposed and stripped of nonspacing marks, lowercased, and then split on whitespace and punctuation. Doing it per
/// code point keeps the alignment to the original text exact and allocates nothing. The one step that spans code points is
/// NFD's canonical reordering: a run of combining marks is held until the next starter, put in combining-class order, and
/// aligned to the original text exactly as HF's <c>NormalizedString::transform</c> aligns it (see <see cref="FlushRun"/>).
/// </summary>
internal sealed class TextSplitter
{
    private readonly bool _clean;
    private readonly bool _chinese;
    private readonly bool _strip;
    private readonly bool _lower;
    private readonly string[] _specials;
    private readonly int[] _specialOrder;
    private readonly SearchValues<char>? _specialFirst;

    private static readonly SearchValues<char> AsciiWordChars =
        SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    public TextSplitter(NormalizerOptions options, IReadOnlyList<string> specials)
    {
        _clean = options.CleanText;
        _chinese = options.HandleChineseChars;
        _strip = options.EffectiveStripAccents;
        _lower = options.Lowercase;
        _specials = specials.Where(s => s.Length > 0).ToArray();
        // Longest first, so that at one position the longest special wins (HF matches leftmost-longest).
        _specialOrder = Enumerable.Range(0, _specials.Length).OrderByDescending(i => _specials[i].Length).ToArray();
        _specialFirst = _specials.Length == 0 ? null : SearchValues.Create(_specials.Select(s => s[0]).Distinct().ToArray());
    }

    /// <summary>The special-token strings, indexed as in <see cref="IWordSink.OnSpecial"/>.</summary>
    public IReadOnlyList<string> Specials => _specials;

    public void Split<TSink>(ReadOnlySpan<char> text, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        var pos = 0;
        while (pos < text.Length)
        {
            var at = FindSpecial(text, pos, out var special);
            if (at < 0)
            {
                Segment(text, pos, text.Length, w, ref sink);
                return;
            }
            Segment(text, pos, at, w, ref sink);
            var end = at + _specials[special].Length;
            sink.OnSpecial(special, at, end);
            pos = end;
        }
    }

    private int FindSpecial(ReadOnlySpan<char> text, int from, out int special)
    {
        special = -1;
        if (_specialFirst is null)
        {
            return -1;
        }
        while (from < text.Length)
        {
            var k = text[from..].IndexOfAny(_specialFirst);
            if (k < 0)
            {
                return -1;
            }
            var at = from + k;
            var rest = text[at..];
            foreach (var i in _specialOrder)
            {
                if (rest.StartsWith(_specials[i], StringComparison.Ordinal))
                {
                    special = i;
                    return at;
                }
            }
            from = at + 1;
        }
        return -1;
    }

    private void Segment<TSink>(ReadOnlySpan<char> text, int from, int to, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        var ascii = UnicodeChars.AsciiClass;
        w.Length = 0;
        w.CodePoints = 0;
        for (var i = from; i < to; i++)
        {
            int c = text[i];
            if (c < 0x80)
            {
                // ASCII is all starters: it ends a pending run of marks, except a control character that cleaning removes
                // (HF cleans before NFD, so marks on both sides of it form one run).
                if (w.RunLength > 0 && (ascii[c] != UnicodeChars.Control || !_clean))
                {
                    FlushRun(w, ref sink);
                }
                switch (ascii[c])
                {
                    case UnicodeChars.Word:
                    {
                        var run = text[i..to].IndexOfAnyExcept(AsciiWordChars);
                        var n = run < 0 ? to - i : run;
                        w.AppendAscii(text.Slice(i, n), i, _lower);
                        i += n - 1;
                        continue;
                    }
                    case UnicodeChars.Space:
                        Flush(w, ref sink);
                        continue;
                    case UnicodeChars.Punct:
                        Flush(w, ref sink);
                        w.Append((char)c, i, i + 1);
                        w.CodePoints = 1;
                        Flush(w, ref sink);
                        continue;
                    default:
                        if (_clean)
                        {
                            continue;
                        }
                        Emit(c, i, i + 1, w, ref sink);
                        continue;
                }
            }
            var len = 1;
            var cp = c;
            if (char.IsHighSurrogate((char)c) && i + 1 < to && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32((char)c, text[i + 1]);
                len = 2;
            }
            NonAscii(cp, i, i + len, w, ref sink);
            i += len - 1;
        }
        FlushRun(w, ref sink);
        Flush(w, ref sink);
    }

    private void NonAscii<TSink>(int cp, int start, int end, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        if (_clean && (cp == 0xFFFD || UnicodeChars.IsControl(cp)))
        {
            return;
        }
        if (UnicodeChars.IsWhitespace(cp))
        {
            FlushRun(w, ref sink);
            Flush(w, ref sink);
            return;
        }
        if (_chinese && UnicodeChars.IsChinese(cp))
        {
            FlushRun(w, ref sink);
            Flush(w, ref sink);
            Normalized(cp, start, end, w, ref sink);
            Flush(w, ref sink);
            return;
        }
        Normalized(cp, start, end, w, ref sink);
    }

    private void Normalized<TSink>(int cp, int start, int end, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        if (!_strip)
        {
            Lowered(cp, start, end, w, ref sink);
            return;
        }
        var d = w.Decomposed;
        var n = UnicodeDecomposition.Decompose(cp, d);
        if (n == 0)
        {
            Decomposed(cp, inserted: false, start, end, w, ref sink);
            return;
        }
        var first = true;
        for (var k = 0; k < n; k++)
        {
            int x = d[k];
            if (char.IsHighSurrogate((char)x) && k + 1 < n)
            {
                x = char.ConvertToUtf32((char)x, d[++k]);
            }
            Decomposed(x, inserted: !first, start, end, w, ref sink);
            first = false;
        }
    }

    /// <summary>
    /// One character of NFD output: a starter ends the pending run of marks and goes on (unless it is a nonspacing mark);
    /// a combining mark joins the run. <paramref name="inserted"/>: not the first character of its code point's decomposition.
    /// </summary>
    private void Decomposed<TSink>(int x, bool inserted, int start, int end, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        var cls = UnicodeDecomposition.CombiningClass(x);
        if (cls != 0)
        {
            w.AddToRun(x, cls, inserted, start, end);
            return;
        }
        FlushRun(w, ref sink);
        if (!UnicodeChars.IsNonSpacingMark(x))
        {
            Lowered(x, start, end, w, ref sink);
        }
    }

    /// <summary>
    /// Puts the pending run of marks in canonical order (stable by combining class) and passes on those that are not
    /// nonspacing marks. Alignment follows HF's <c>transform</c>, which is positional: in the reordered sequence, a character
    /// that begins its code point's decomposition takes the span of the next code point of the run in written order, and an
    /// inserted one the span of the code point taken last. (A canonical decomposition is itself in class order, so an
    /// inserted mark always sorts after the mark that began it, or is the run's first and continues a starter's code point.)
    /// </summary>
    private void FlushRun<TSink>(WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        var n = w.RunLength;
        if (n == 0)
        {
            return;
        }
        w.RunLength = 0;
        Span<int> order = n <= 64 ? stackalloc int[n] : new int[n];
        StableOrderByClass(w.RunClass.AsSpan(0, n), order);
        var nextOwn = 0;
        int lastStart = w.RunStart[0], lastEnd = w.RunEnd[0];
        for (var k = 0; k < n; k++)
        {
            var i = order[k];
            if (!w.RunInserted[i])
            {
                while (w.RunInserted[nextOwn])
                {
                    nextOwn++;
                }
                lastStart = w.RunStart[nextOwn];
                lastEnd = w.RunEnd[nextOwn];
                nextOwn++;
            }
            var x = w.RunCp[i];
            if (!UnicodeChars.IsNonSpacingMark(x))
            {
                Lowered(x, lastStart, lastEnd, w, ref sink);
            }
        }
    }

    /// <summary>Indexes 0..n-1 ordered by class, ties in written order: insertion sort for short runs, counting sort for long.</summary>
    private static void StableOrderByClass(ReadOnlySpan<int> classes, Span<int> order)
    {
        var n = classes.Length;
        if (n <= 16)
        {
            for (var i = 0; i < n; i++)
            {
                var j = i;
                while (j > 0 && classes[order[j - 1]] > classes[i])
                {
                    order[j] = order[j - 1];
                    j--;
                }
                order[j] = i;
            }
            return;
        }
        // A hostile text may hold a million marks in a row: keep it linear.
        Span<int> next = stackalloc int[257];
        next.Clear();
        foreach (var c in classes)
        {
            next[c + 1]++;
        }
        for (var c = 1; c < next.Length; c++)
        {
            next[c] += next[c - 1];
        }
        for (var i = 0; i < n; i++)
        {
            order[next[classes[i]]++] = i;
        }
    }

    private void Lowered<TSink>(int cp, int start, int end, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        if (!_lower)
        {
            Emit(cp, start, end, w, ref sink);
            return;
        }
        var l = w.Lowered;
        var n = UnicodeChars.ToLower(cp, l);
        if (n == 1)
        {
            Emit(l[0], start, end, w, ref sink);
            return;
        }
        for (var k = 0; k < n; k++)
        {
            int x = l[k];
            if (char.IsHighSurrogate((char)x) && k + 1 < n)
            {
                x = char.ConvertToUtf32((char)x, l[++k]);
            }
            Emit(x, start, end, w, ref sink);
        }
    }

    /// <summary>Pre-tokenizer step for one normalised code point: split on whitespace, isolate punctuation.</summary>
    private static void Emit<TSink>(int cp, int start, int end, WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        if (UnicodeChars.IsWhitespace(cp))
        {
            Flush(w, ref sink);
            return;
        }
        var punct = UnicodeChars.IsPunctuation(cp);
        if (punct)
        {
            Flush(w, ref sink);
        }
        if (cp < 0x10000)
        {
            w.Append((char)cp, start, end);
        }
        else
        {
            w.Append((char)(0xD800 + ((cp - 0x10000) >> 10)), start, end);
            w.Append((char)(0xDC00 + ((cp - 0x10000) & 0x3FF)), start, end);
        }
        w.CodePoints++;
        if (punct)
        {
            Flush(w, ref sink);
        }
    }

    private static void Flush<TSink>(WordBuffer w, ref TSink sink) where TSink : struct, IWordSink
    {
        if (w.Length > 0)
        {
            sink.OnWord(w);
            w.Length = 0;
            w.CodePoints = 0;
        }
    }
}
