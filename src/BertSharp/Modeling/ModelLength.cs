using System.Globalization;
using BertSharp.Tokenization;

namespace BertSharp.Modeling;

/// <summary>The input length a command works at, and what the user should be told about it.</summary>
/// <param name="Length">Maximum tokens per input, special tokens included.</param>
/// <param name="TrainedLength">The longest input whose positions the model was trained on.</param>
/// <param name="PositionLimit">The model's max_position_embeddings: no input may be longer.</param>
/// <param name="Warning">Set when <paramref name="Length"/> uses positions that were never trained; null otherwise.</param>
public sealed record ResolvedLength(int Length, int TrainedLength, int PositionLimit, string? Warning);

/// <summary>
/// The one maximum-length rule of every command. A model's trained length is <c>model_max_length</c> of its
/// <c>tokenizer_config.json</c> (BertSharp's pre-training and fine-tuning write the longest length they trained at there, as
/// HF checkpoints record theirs), else <c>max_position_embeddings</c>, and never more than <c>max_position_embeddings</c>.
/// Commands default to the trained length; <c>max_length</c> overrides it up to <c>max_position_embeddings</c>, with a
/// warning when the positions beyond the trained length would be used. Warnings name options by their snake_case fields
/// (<c>max_length</c>, <c>truncation_side</c>), as <see cref="BertSharpException"/> messages do.
/// </summary>
public static class ModelLength
{
    /// <summary>The longest input whose positions the model was trained on.</summary>
    public static int Trained(BertConfig config, BertTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Math.Min(config.MaxPositionEmbeddings, tokenizer.ModelMaxLength ?? config.MaxPositionEmbeddings);
    }

    /// <summary>
    /// The length to use: <paramref name="requested"/> when given, else <paramref name="preferred"/> (a task default) bounded by
    /// the trained length, else the trained length.
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="tokenizer">Its tokenizer (model_max_length).</param>
    /// <param name="requested">max_length, or null.</param>
    /// <param name="origin">Names the model in messages (a directory or "preset mini").</param>
    /// <param name="preferred">A default below the trained length to prefer (e.g. a task's 128); null for none.</param>
    /// <exception cref="BertSharpException">The requested length is below 3 or above max_position_embeddings.</exception>
    public static ResolvedLength Resolve(BertConfig config, BertTokenizer tokenizer, int? requested, string origin, int? preferred = null)
    {
        var trained = Trained(config, tokenizer);
        return Resolve(trained, config.MaxPositionEmbeddings, requested, origin, preferred);
    }

    /// <summary>As <see cref="Resolve(BertConfig, BertTokenizer, int?, string, int?)"/> from the two numbers.</summary>
    public static ResolvedLength Resolve(int trainedLength, int positionLimit, int? requested, string origin, int? preferred = null)
    {
        var trained = Math.Min(trainedLength, positionLimit);
        if (requested is { } r)
        {
            if (r < 3)
            {
                throw new BertSharpException(Invariant($"{BertSharpException.Field("max_length")} {r}: expected at least 3 ([CLS], one token, [SEP])."));
            }
            if (r > positionLimit)
            {
                throw new BertSharpException(Invariant($"{BertSharpException.Field("max_length")} {r}: above the model's max_position_embeddings {positionLimit} ({origin})."));
            }
        }
        var length = requested ?? Math.Min(preferred ?? trained, trained);
        string? warning = null;
        if (length > trained)
        {
            warning = string.Create(CultureInfo.InvariantCulture,
                $"max_length {length}: {origin} was trained on inputs of at most {trained} tokens; positions {trained}-{length - 1} were never trained, so inputs longer than {trained} tokens get untrained position embeddings.");
        }
        return new ResolvedLength(length, trained, positionLimit, warning);
    }

    /// <summary>The warning for inputs cut to <paramref name="maxLength"/>, or null when none was.</summary>
    /// <param name="truncated">How many inputs were longer than <paramref name="maxLength"/>.</param>
    /// <param name="total">How many inputs there were.</param>
    /// <param name="maxLength">The length they were cut to.</param>
    /// <param name="longest">The longest input in tokens (special tokens included), when known.</param>
    /// <param name="side">Which part of a longer text was kept (a tail or head+tail cut still reads the end).</param>
    /// <param name="headTokens">head+tail: the explicit head tokens, or null for the default split.</param>
    /// <param name="pair">The inputs are text pairs (the longer text of a pair is cut first).</param>
    /// <param name="sideIsOption">
    /// Whether the caller can choose the cut (truncation_side); false for pairs always cut longest-first from the end, as
    /// next-sentence prediction and multiple choice cut them, whose users have only max_length to change.
    /// </param>
    public static string? TruncationWarning(int truncated, int total, int maxLength, int? longest = null,
        TruncationSide side = TruncationSide.Head, int? headTokens = null, bool pair = false, bool sideIsOption = true)
    {
        if (truncated <= 0)
        {
            return null;
        }
        var what = total == 1 ? "the input is" : Invariant($"{truncated:N0} of {total:N0} inputs are");
        var longestText = longest is { } l ? Invariant($" (longest {l:N0})") : "";
        // Tokens, not words: a cut may keep a word's first WordPiece pieces and drop only its later ones.
        var cut = side == TruncationSide.Head && !pair ? "the tokens after that were not read (max_length sets the limit)"
            : sideIsOption ? $"cut {TruncationSides.Describe(side, headTokens, maxLength, pair)} (max_length and truncation_side set the cut)"
            // Without the side's name: "cut head" read as a truncation_side value to users who have no such option.
            : $"{TruncationSides.Explain(side, headTokens, maxLength, pair)} (max_length sets the limit)";
        return string.Create(CultureInfo.InvariantCulture,
            $"{what} longer than {maxLength} tokens{longestText} and {(total == 1 ? "was" : "were")} truncated to {maxLength}; {cut}.");
    }
}
