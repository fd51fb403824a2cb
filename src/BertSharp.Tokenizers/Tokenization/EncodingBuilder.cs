
namespace BertSharp.Tokenization;

/// <summary>
/// Turns the word pieces of one or two texts into <see cref="BertEncoding"/>s as HF's <c>post_process</c> does:
/// truncation (with overflowing windows), <c>[CLS] A [SEP] B [SEP]</c>, type ids, masks, offsets.
/// </summary>
internal static class EncodingBuilder
{
    public static BertEncoding Build(BertTokenizer tok, string text, string? pair, TokenBuffer buf, int nA, int nB, EncodeOptions o)
    {
        o.Validate();
        var isPair = pair is not null;
        var added = o.AddSpecialTokens ? (isPair ? 3 : 2) : 0;
        if (o.AddSpecialTokens && tok.MissingClsSep() is not null)
        {
            throw tok.NoClsSep();
        }
        var mapA = CodePointMap(text);
        var mapB = isPair ? CodePointMap(pair!) : null;

        BertEncoding result;
        if (o.MaxLength is int maxLength && o.Truncation != TruncationStrategy.None && nA + nB + added > maxLength)
        {
            var room = maxLength - added;
            if (room < 0)
            {
                throw new BertSharpException(Invariant($"{BertSharpException.Field("max_length")} {maxLength} is smaller than the {added} special tokens an input needs."));
            }
            var (ta, tb) = Truncation.TargetLengths(nA, nB, isPair, room, o.Truncation);
            if (o.TruncationSide == TruncationSide.HeadAndTail)
            {
                if (o.ReturnOverflowing)
                {
                    throw new BertSharpException("overflowing windows (stride) cannot be combined with head+tail truncation.");
                }
                if (o.HeadTokens is < 0)
                {
                    throw new BertSharpException(Invariant($"head tokens {o.HeadTokens}: expected a number ≥ 0."));
                }
                return Finish(tok, o, Make(tok, buf, TruncationSides.HeadAndTail(nA, ta, o.HeadTokens),
                    isPair ? TruncationSides.HeadAndTail(nB, tb, o.HeadTokens) : default, nA, isPair, o.AddSpecialTokens, mapA, mapB));
            }
            var fromEnd = o.TruncationSide == TruncationSide.Tail;
            var wa = Truncation.Windows(nA, ta, o.Stride, fromEnd);
            var wb = isPair ? Truncation.Windows(nB, tb, o.Stride, fromEnd) : [(0, 0)];
            result = Make(tok, buf, wa[0], wb[0], nA, isPair, o.AddSpecialTokens, mapA, mapB);
            if (o.ReturnOverflowing && (wa.Count > 1 || wb.Count > 1))
            {
                // Same order as HF's Encoding::merge_with: every later window of A with every window of B, then A's first
                // window with B's later windows.
                var overflow = new List<BertEncoding>();
                for (var i = 1; i < wa.Count; i++)
                {
                    foreach (var b in wb)
                    {
                        overflow.Add(Make(tok, buf, wa[i], b, nA, isPair, o.AddSpecialTokens, mapA, mapB));
                    }
                }
                for (var j = 1; j < wb.Count; j++)
                {
                    overflow.Add(Make(tok, buf, wa[0], wb[j], nA, isPair, o.AddSpecialTokens, mapA, mapB));
                }
                result.Overflowing = overflow;
            }
        }
        else
        {
            result = Make(tok, buf, (0, nA), (0, nB), nA, isPair, o.AddSpecialTokens, mapA, mapB);
        }
        return Finish(tok, o, result);
    }

    private static BertEncoding Finish(BertTokenizer tok, EncodeOptions o, BertEncoding result)
    {
        if (o.Padding == PaddingStrategy.MaxLength)
        {
            result = Padding.Pad(tok, result, o.RoundPadding(o.PaddingLength ?? o.MaxLength!.Value), o.PaddingSide);
        }
        else if (o.Padding == PaddingStrategy.Longest && (result.Overflowing.Count > 0 || o.PadToMultipleOf is not null))
        {
            result = Padding.Pad(tok, result, o.RoundPadding(result.Length), o.PaddingSide);
        }
        return result;
    }

    private static BertEncoding Make(BertTokenizer tok, TokenBuffer buf, (int Start, int End) a, (int Start, int End) b, int nA,
        bool isPair, bool special, int[]? mapA, int[]? mapB) =>
        Make(tok, buf, KeptTokens.Window(a), KeptTokens.Window(b), nA, isPair, special, mapA, mapB);

    private static BertEncoding Make(BertTokenizer tok, TokenBuffer buf, KeptTokens a, KeptTokens b, int nA,
        bool isPair, bool special, int[]? mapA, int[]? mapB)
    {
        var lenA = a.End - a.Start + a.TailEnd - a.TailStart;
        var lenB = isPair ? b.End - b.Start + b.TailEnd - b.TailStart : 0;
        var length = lenA + lenB + (special ? (isPair ? 3 : 2) : 0);
        var e = new BertEncoding(length);
        var vocab = tok.Vocab;
        var p = 0;
        if (special)
        {
            AddSpecial(e, p++, tok.ClsId, vocab, 0);
        }
        for (var i = a.Start; i < a.End; i++)
        {
            AddToken(e, p++, buf, i, vocab, 0, mapA);
        }
        for (var i = a.TailStart; i < a.TailEnd; i++)
        {
            AddToken(e, p++, buf, i, vocab, 0, mapA);
        }
        if (special)
        {
            AddSpecial(e, p++, tok.SepId, vocab, 0);
        }
        if (isPair)
        {
            for (var i = b.Start; i < b.End; i++)
            {
                AddToken(e, p++, buf, nA + i, vocab, 1, mapB);
            }
            for (var i = b.TailStart; i < b.TailEnd; i++)
            {
                AddToken(e, p++, buf, nA + i, vocab, 1, mapB);
            }
            if (special)
            {
                AddSpecial(e, p++, tok.SepId, vocab, 1);
            }
        }
        return e;
    }

    private static void AddSpecial(BertEncoding e, int p, int id, Vocabulary vocab, int type)
    {
        e.Ids[p] = id;
        e.Tokens[p] = vocab[id];
        e.TypeIds[p] = type;
        e.AttentionMask[p] = 1;
        e.SpecialTokensMask[p] = 1;
        e.WordIds[p] = -1;
    }

    private static void AddToken(BertEncoding e, int p, TokenBuffer buf, int i, Vocabulary vocab, int type, int[]? map)
    {
        var id = buf.Ids[i];
        e.Ids[p] = id;
        e.Tokens[p] = vocab[id];
        e.TypeIds[p] = type;
        e.AttentionMask[p] = 1;
        e.WordIds[p] = buf.Words[i];
        int s = buf.Starts[i], t = buf.Ends[i];
        e.Utf16Offsets[p] = (s, t);
        e.Offsets[p] = map is null ? (s, t) : (map[s], map[t]);
    }

    /// <summary>UTF-16 index → code-point index, or null when the text has no surrogates (the two coincide).</summary>
    internal static int[]? CodePointMap(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return null;
        }
        var map = new int[text.Length + 1];
        var cp = 0;
        for (var i = 0; i < text.Length; i++)
        {
            map[i] = cp;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                map[++i] = cp;
            }
            cp++;
        }
        map[text.Length] = cp;
        return map;
    }
}
