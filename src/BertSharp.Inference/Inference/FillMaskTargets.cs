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
    /// The ids of <paramref name="words"/> as HF's pipeline finds them (<c>FillMaskPipeline.get_target_ids</c>): a word that is
    /// a token of the vocabulary is that token; any other is tokenized and its first word piece taken, with a warning (HF warns
    /// likewise); one the tokenizer keeps nothing of (control or zero-width characters only) is skipped with a warning, as HF
    /// skips it. Words that come to the same id count once.
    /// </summary>
    /// <param name="tokenizer">The pipeline's tokenizer.</param>
    /// <param name="words">At least one word.</param>
    /// <exception cref="BertSharpException">
    /// No word is given, one is empty or white space only (named <c>targets[i]</c>), or every word was skipped (HF: "At least
    /// one target must be provided when passed.").
    /// </exception>
    public static FillMaskTargets Resolve(BertTokenizer tokenizer, IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(words);
        var list = words.ToList();
        var field = BertSharpException.Field("targets");
        if (list.Count == 0)
        {
            throw new BertSharpException($"{field}: expected at least one word when given.");
        }
        var ids = new List<int>();
        var warnings = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var word = list[i] ?? throw new ArgumentException("words must not contain null.", nameof(words));
            // HF would skip an empty word too, but an empty entry is more likely a mistake (an empty field of a list, a stray
            // comma), refused as every other empty input is.
            if (string.IsNullOrWhiteSpace(word))
            {
                throw new BertSharpException(Invariant($"{field}[{i}]: empty or white space only; expected a word with at least one word piece, such as a token of the model's vocabulary."));
            }
            if (!tokenizer.Vocab.TryGetId(word, out var id))
            {
                var pieces = tokenizer.Tokenize(word);
                if (pieces.Count == 0)
                {
                    warnings.Add(Invariant($"targets[{i}] ('{word}') has no word piece (only characters the tokenizer drops, such as control or zero-width ones); it is skipped, as HF's fill-mask pipeline skips it."));
                    continue;
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
        if (ids.Count == 0)
        {
            throw new BertSharpException(Invariant(
                $"{field}: none of the {list.Count} target(s) has a word piece (only characters the tokenizer drops); expected at least one word such as a token of the model's vocabulary."));
        }
        return new FillMaskTargets(ids, warnings);
    }
}
