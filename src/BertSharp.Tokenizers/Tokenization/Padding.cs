namespace BertSharp.Tokenization;

/// <summary>HF's <c>Encoding::pad</c>: [PAD] tokens with type id 0, attention 0, special mask 1, offsets (0, 0), word id -1.</summary>
internal static class Padding
{
    public static BertEncoding Pad(BertTokenizer tok, BertEncoding e, int target, Side side)
    {
        var overflow = e.Overflowing;
        if (overflow.Count > 0)
        {
            var padded = new BertEncoding[overflow.Count];
            for (var i = 0; i < padded.Length; i++)
            {
                padded[i] = Pad(tok, overflow[i], target, side);
            }
            overflow = padded;
        }
        if (e.Length >= target)
        {
            e.Overflowing = overflow;
            return e;
        }
        if (tok.PadId < 0)
        {
            throw new BertSharpException("the vocabulary has no [PAD] token, so encodings cannot be padded.");
        }
        var r = new BertEncoding(target);
        var pad = target - e.Length;
        var at = side == Side.Right ? 0 : pad;
        var padAt = side == Side.Right ? e.Length : 0;
        e.Ids.CopyTo(r.Ids, at);
        e.TypeIds.CopyTo(r.TypeIds, at);
        e.AttentionMask.CopyTo(r.AttentionMask, at);
        e.SpecialTokensMask.CopyTo(r.SpecialTokensMask, at);
        e.Tokens.CopyTo(r.Tokens, at);
        e.Offsets.CopyTo(r.Offsets, at);
        e.Utf16Offsets.CopyTo(r.Utf16Offsets, at);
        e.WordIds.CopyTo(r.WordIds, at);
        var padToken = tok.Vocab[tok.PadId];
        for (var i = padAt; i < padAt + pad; i++)
        {
            r.Ids[i] = tok.PadId;
            r.Tokens[i] = padToken;
            r.SpecialTokensMask[i] = 1;
            r.WordIds[i] = -1;
        }
        r.Overflowing = overflow;
        return r;
    }
}
