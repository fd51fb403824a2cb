namespace BertSharp.Tokenization;

/// <summary>
/// HF's WordPiece model: greedy longest-match-first over one normalised word, continuation pieces prefixed with
/// <c>##</c>, the whole word becoming <c>[UNK]</c> when any part cannot be matched or when it is longer than
/// <see cref="MaxInputCharsPerWord"/> code points. Continuation pieces are looked up in a second table keyed without the
/// prefix, so no "##" + piece string is ever built.
/// </summary>
internal sealed class WordPiece
{
    public const string Prefix = "##";

    private readonly SpanTable _first;
    private readonly SpanTable _continuation;
    private readonly int _maxFirstLength;
    private readonly int _maxContinuationLength;

    public WordPiece(Vocabulary vocab, int unkId, int maxInputCharsPerWord = 100)
    {
        UnkId = unkId;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        var first = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        var continuation = new Dictionary<string, int>(vocab.Count / 4, StringComparer.Ordinal);
        for (var id = 0; id < vocab.Count; id++)
        {
            var t = vocab[id];
            first[t] = id;
            _maxFirstLength = Math.Max(_maxFirstLength, t.Length);
            if (t.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continuation[t[Prefix.Length..]] = id;
                _maxContinuationLength = Math.Max(_maxContinuationLength, t.Length - Prefix.Length);
            }
        }
        _first = new SpanTable(first);
        _continuation = new SpanTable(continuation);
    }

    public int UnkId { get; }

    public int MaxInputCharsPerWord { get; }

    /// <summary>
    /// Splits <paramref name="word"/> into pieces: writes their ids and their end positions (in UTF-16 units of
    /// <paramref name="word"/>) and returns how many. Both spans must be at least <c>word.Length</c> long.
    /// </summary>
    public int Tokenize(ReadOnlySpan<char> word, int codePoints, Span<int> ids, Span<int> ends)
    {
        if (codePoints > MaxInputCharsPerWord)
        {
            return Unknown(word, ids, ends);
        }
        var n = Math.Max(_maxFirstLength, _maxContinuationLength) + 1;
        // Vocabulary tokens are short; a pathological one must not blow the stack.
        var prefix = n <= 256 ? stackalloc uint[n] : new uint[n];
        var count = 0;
        var start = 0;
        while (start < word.Length)
        {
            var id = Longest(word, start, prefix, out var end);
            if (id < 0)
            {
                return Unknown(word, ids, ends);
            }
            ids[count] = id;
            ends[count] = end;
            count++;
            start = end;
        }
        return count;
    }

    /// <summary>
    /// The longest vocabulary piece starting at <paramref name="start"/> (continuation table unless at 0): its id and end,
    /// or -1. FNV hashes of all prefixes are computed in one pass, so trying every length costs one hash, not one each.
    /// </summary>
    private int Longest(ReadOnlySpan<char> word, int start, Span<uint> prefix, out int end)
    {
        var table = start == 0 ? _first : _continuation;
        var max = Math.Min(word.Length, start + (start == 0 ? _maxFirstLength : _maxContinuationLength));
        if (max < word.Length && char.IsLowSurrogate(word[max]) && char.IsHighSurrogate(word[max - 1]))
        {
            max--;
        }
        var h = SpanTable.Basis;
        for (var k = start; k < max; k++)
        {
            h = SpanTable.Step(h, word[k]);
            prefix[k - start + 1] = h;
        }
        end = max;
        while (end > start)
        {
            if (table.TryGetValue(word[start..end], SpanTable.Finish(prefix[end - start]), out var id))
            {
                return id;
            }
            end -= end - start >= 2 && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
        }
        return -1;
    }

    /// <summary>Counts the pieces of a word without recording them.</summary>
    public int Count(ReadOnlySpan<char> word, int codePoints)
    {
        if (codePoints > MaxInputCharsPerWord)
        {
            return 1;
        }
        var n = Math.Max(_maxFirstLength, _maxContinuationLength) + 1;
        // Vocabulary tokens are short; a pathological one must not blow the stack.
        var prefix = n <= 256 ? stackalloc uint[n] : new uint[n];
        var count = 0;
        var start = 0;
        while (start < word.Length)
        {
            if (Longest(word, start, prefix, out var end) < 0)
            {
                return 1;
            }
            count++;
            start = end;
        }
        return count;
    }

    private int Unknown(ReadOnlySpan<char> word, Span<int> ids, Span<int> ends)
    {
        ids[0] = UnkId;
        ends[0] = word.Length;
        return 1;
    }
}
