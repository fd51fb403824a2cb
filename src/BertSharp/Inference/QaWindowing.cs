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

    /// <summary>Whether each token of a window may be part of an answer: context tokens (segment 1, not special, not padding).</summary>
    public static bool[] AnswerTokens(BertEncoding window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return [.. Enumerable.Range(0, window.Length).Select(i => window.TypeIds[i] == 1 && window.SpecialTokensMask[i] == 0 && window.AttentionMask[i] == 1)];
    }
}
