using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>
/// The candidates a <see cref="FillMask"/> scores instead of the whole vocabulary (HF's fill-mask <c>targets</c>): each
/// mask's scores stay its softmax over the whole vocabulary, and only these tokens' entries are ranked.
/// </summary>
/// <param name="TokenIds">Distinct vocabulary ids, in the order the words were given.</param>
/// <param name="Warnings">One line per word that is not a token of the vocabulary and was replaced by its first word piece.</param>
public sealed record FillMaskTargets(IReadOnlyList<int> TokenIds, IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// The ids of <paramref name="words"/> as HF's pipeline finds them: a word that is a token of the vocabulary is that token;
    /// any other is tokenized and its first word piece taken, with a warning (HF warns likewise). Words that come to the same
    /// id count once.
    /// </summary>
    /// <param name="tokenizer">The pipeline's tokenizer.</param>
    /// <param name="words">At least one word.</param>
    /// <exception cref="BertSharpException">No word is given, or one is empty (no word piece: white space or control characters only).</exception>
    public static FillMaskTargets Resolve(BertTokenizer tokenizer, IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(words);
        var list = words.ToList();
        if (list.Count == 0)
        {
            throw new BertSharpException($"{BertSharpException.Field("targets")}: expected at least one word when given.");
        }
        var ids = new List<int>();
        var warnings = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var word = list[i] ?? throw new ArgumentException("words must not contain null.", nameof(words));
            if (!tokenizer.Vocab.TryGetId(word, out var id))
            {
                var pieces = tokenizer.Tokenize(word);
                // HF skips such a word with a warning; a target that names nothing is more likely a mistake (an empty field
                // of a list, a stray comma), so it is refused as the other empty inputs are.
                if (pieces.Count == 0)
                {
                    throw new BertSharpException(Invariant(
                        $"{BertSharpException.Field("targets")} entry {i + 1} ('{word}') is empty: it has no word piece; expected a word such as a token of the model's vocabulary."));
                }
                id = tokenizer.Vocab[pieces[0]];
                var piece = pieces.Count == 1 ? $"word piece '{pieces[0]}'" : $"first word piece '{pieces[0]}' (of {string.Join(" ", pieces)})";
                warnings.Add($"target '{word}' is not a token of the model's vocabulary; its {piece} is scored instead, as HF's fill-mask pipeline does.");
            }
            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }
        return new FillMaskTargets(ids, warnings);
    }
}
