using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>
/// How extractive QA cuts a (question, context) pair into windows — the one rule of the <c>qa</c> pipeline, QA fine-tuning
/// and QA evaluation: <c>[CLS] question [SEP] context-window [SEP]</c>, only the context truncated, consecutive windows
/// sharing <c>docStride</c> context tokens (capped at half the context room, so that every window moves forward).
/// </summary>
internal static class QaWindowing
{
    /// <summary>The windows of one pair, in context order (the first, then its overflow).</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="question">The question.</param>
    /// <param name="context">The context.</param>
    /// <param name="maxLength">Tokens per window, question and special tokens included.</param>
    /// <param name="docStride">Context tokens shared by consecutive windows.</param>
    public static IReadOnlyList<BertEncoding> Windows(BertTokenizer tokenizer, string question, string context, int maxLength, int docStride)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(context);
        var room = maxLength - tokenizer.CountTokens(question) - 3;
        if (room < 1)
        {
            throw new BertSharpException(Invariant($"the question has {maxLength - room - 3} tokens, which leaves no room for context in a {maxLength}-token window."));
        }
        var options = new EncodeOptions
        {
            MaxLength = maxLength,
            Truncation = TruncationStrategy.OnlySecond,
            Stride = Math.Min(docStride, room / 2),
            ReturnOverflowing = true,
        };
        var first = tokenizer.Encode(question, context, options);
        return [first, .. first.Overflowing];
    }

    /// <summary>
    /// The UTF-16 character span [Start, End) of an answer from token <paramref name="startToken"/> to
    /// <paramref name="endToken"/>, widened to the whole words they fall in, as HF's pipeline (<c>align_to_words</c>, on by
    /// default) maps a span through <c>token_to_word</c> and <c>word_to_chars</c>: an answer starting at <c>##ffa</c> starts
    /// where its word does. A word cut by the window keeps the pieces the window holds, as HF's encoding of that window does.
    /// </summary>
    public static (int Start, int End) WordSpan(BertEncoding window, int startToken, int endToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        bool SameWord(int a, int b) => window.WordIds[a] >= 0 && window.WordIds[a] == window.WordIds[b] && window.TypeIds[a] == window.TypeIds[b];
        var s = startToken;
        while (s > 0 && SameWord(s - 1, s))
        {
            s--;
        }
        var e = endToken;
        while (e + 1 < window.Length && SameWord(e + 1, e))
        {
            e++;
        }
        return (window.Utf16Offsets[s].Start, window.Utf16Offsets[e].End);
    }

    /// <summary>Whether each token of a window may be part of an answer: context tokens (segment 1, not special, not padding).</summary>
    public static bool[] AnswerTokens(BertEncoding window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return [.. Enumerable.Range(0, window.Length).Select(i => window.TypeIds[i] == 1 && window.SpecialTokensMask[i] == 0 && window.AttentionMask[i] == 1)];
    }
}
