using BertSharp.Tokenization;

namespace BertSharp.Data;

/// <summary>Tokenizes datasets into <see cref="EncodedExample"/>s: [CLS] text [SEP] (pair [SEP]), truncated, unpadded.</summary>
public static class ExampleEncoder
{
    /// <summary>
    /// Encodes every example, truncating to <paramref name="maxLength"/> tokens (special tokens included; the longer text
    /// of a pair is shortened first, as HF does). A truncated text keeps its start, its end or both
    /// (<paramref name="side"/>; <paramref name="headTokens"/> for head+tail). Padding is left to batching.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="examples">The examples.</param>
    /// <param name="targets">Class id or regression target per example (same order), or null for unlabelled data.</param>
    /// <param name="maxLength">Maximum tokens per example.</param>
    /// <param name="side">Which tokens a truncated text keeps.</param>
    /// <param name="headTokens">With <see cref="TruncationSide.HeadAndTail"/>: tokens kept from the start (null: Sun et al.'s share).</param>
    /// <exception cref="ArgumentException"><paramref name="targets"/> does not hold one value per example.</exception>
    public static EncodedExample[] Encode(BertTokenizer tokenizer, IReadOnlyList<TextExample> examples, float[]? targets, int maxLength,
        TruncationSide side = TruncationSide.Head, int? headTokens = null) =>
        EncodeWithTruncation(tokenizer, examples, targets, maxLength, side, headTokens, TruncationStrategy.LongestFirst);

    /// <summary>
    /// <see cref="Encode"/> with another pair
    /// truncation: zero-shot classification cuts only the text (HF's only_first), so that every hypothesis is read whole.
    /// </summary>
    internal static EncodedExample[] EncodeWithTruncation(BertTokenizer tokenizer, IReadOnlyList<TextExample> examples, float[]? targets, int maxLength,
        TruncationSide side, int? headTokens, TruncationStrategy truncation)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(examples);
        if (targets is not null && targets.Length != examples.Count)
        {
            // Fewer targets failed with an IndexOutOfRangeException after the tokenization; more were dropped silently.
            throw new ArgumentException(
                Invariant($"targets holds {targets.Length} values for {examples.Count} examples; expected one per example, in the same order."), nameof(targets));
        }
        var options = new EncodeOptions
        {
            MaxLength = maxLength,
            Truncation = truncation,
            Padding = PaddingStrategy.None,
            TruncationSide = side,
            HeadTokens = side == TruncationSide.HeadAndTail ? headTokens : null,
        };
        var encodings = tokenizer.EncodeBatch([.. examples.Select(e => (e.Text, e.TextPair))], options);
        var result = new EncodedExample[examples.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new EncodedExample(encodings[i].Ids, encodings[i].TypeIds, targets is null ? float.NaN : targets[i]);
        }
        return result;
    }

    /// <summary>
    /// How many of <paramref name="inputs"/> are longer than <paramref name="maxLength"/> tokens (and are truncated by
    /// <see cref="Encode"/>), and the longest length in tokens, [CLS] and [SEP] included.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="inputs">The texts, each with its pair text or null.</param>
    /// <param name="maxLength">Maximum tokens per input.</param>
    public static (int Truncated, int Longest) CountTruncated(BertTokenizer tokenizer, IEnumerable<(string Text, string? Pair)> inputs, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(inputs);
        var truncated = 0;
        var longest = 0;
        foreach (var (text, pair) in inputs)
        {
            var n = tokenizer.CountTokens(text) + (pair is null ? 2 : tokenizer.CountTokens(pair) + 3);
            longest = Math.Max(longest, n);
            truncated += n > maxLength ? 1 : 0;
        }
        return (truncated, longest);
    }
}
