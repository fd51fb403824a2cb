using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>How token predictions are merged into entities (HF <c>TokenClassificationPipeline</c> strategies).</summary>
public enum AggregationStrategy
{
    /// <summary>One entity per token, no grouping.</summary>
    None,

    /// <summary>Per-token labels; neighbours with the same tag (B-/I- aware) are grouped.</summary>
    Simple,

    /// <summary>Each word takes the label of its first token, then words are grouped.</summary>
    First,

    /// <summary>Each word takes the label of its tokens' averaged scores, then words are grouped.</summary>
    Average,

    /// <summary>Each word takes the label of its single most confident token, then words are grouped.</summary>
    Max,
}

/// <summary>One token's prediction before aggregation.</summary>
/// <param name="Token">The word piece (e.g. <c>##ffa</c>); for [UNK], the text it stands for.</param>
/// <param name="Scores">Softmax over the labels.</param>
/// <param name="Start">UTF-16 start offset in the text.</param>
/// <param name="End">UTF-16 end offset in the text.</param>
/// <param name="Index">Position of the token in the encoded sequence.</param>
/// <param name="IsSubword">Whether the token continues the previous token's word.</param>
public sealed record TokenScores(string Token, double[] Scores, int Start, int End, int Index, bool IsSubword);

/// <summary>An entity (or, without aggregation, one token) found in a text.</summary>
/// <param name="Entity">The label (<see cref="AggregationStrategy.None"/>) or the group's tag with any B-/I- prefix removed (HF <c>entity_group</c>).</param>
/// <param name="Score">The label's probability (groups: the mean over their members).</param>
/// <param name="Word">The tokens joined back into text as HF's WordPiece decoder joins them (lower-cased as the tokenizer saw it, [UNK] as written in the text, <c>##</c> merged, a space before other tokens but none before "." "," "?" "!").</param>
/// <param name="Start">UTF-16 start offset in the input text.</param>
/// <param name="End">UTF-16 end offset (exclusive).</param>
/// <param name="Index">Token position for <see cref="AggregationStrategy.None"/>; null for groups.</param>
public sealed record TokenEntity(string Entity, double Score, string Word, int Start, int End, int? Index = null);

/// <summary>HF's post-processing of token classification: word aggregation and entity grouping, on plain arrays.</summary>
public static class TokenAggregation
{
    /// <summary>Labels dropped from the output by default (HF <c>ignore_labels</c>).</summary>
    public static readonly IReadOnlyList<string> DefaultIgnoreLabels = ["O"];

    /// <summary>
    /// Turns per-token scores into entities with <paramref name="strategy"/>; entities labelled in <paramref name="ignoreLabels"/>
    /// are dropped. Words and groups are joined back into text with the tokenizer's WordPiece decoder
    /// (<see cref="BertTokenizer.ConvertTokensToString"/>; <paramref name="decoderCleanup"/>: its <see cref="BertTokenizer.DecoderCleanup"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A token has not one score per label.</exception>
    public static List<TokenEntity> Aggregate(IReadOnlyList<TokenScores> tokens, IReadOnlyList<string> labels, AggregationStrategy strategy,
        IReadOnlyCollection<string>? ignoreLabels = null, bool decoderCleanup = true)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(labels);
        // A score row longer than the labels failed as an IndexOutOfRangeException when its argmax had no label.
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Scores.Length != labels.Count)
            {
                throw new ArgumentException(Invariant($"tokens[{i}] has {tokens[i].Scores.Length} scores; expected one per label ({labels.Count})."), nameof(tokens));
            }
        }
        var ignore = ignoreLabels ?? DefaultIgnoreLabels;
        List<TokenEntity> entities;
        if (strategy is AggregationStrategy.None or AggregationStrategy.Simple)
        {
            entities = [.. tokens.Select(t =>
            {
                var best = ScoreMath.ArgMax(t.Scores);
                return new TokenEntity(labels[best], t.Scores[best], t.Token, t.Start, t.End, t.Index);
            })];
        }
        else
        {
            entities = AggregateWords(tokens, labels, strategy, decoderCleanup);
        }
        if (strategy == AggregationStrategy.None)
        {
            return [.. entities.Where(e => !ignore.Contains(e.Entity))];
        }
        return [.. GroupEntities(entities, decoderCleanup).Where(e => !ignore.Contains(e.Entity))];
    }

    /// <summary>
    /// Merges the entities of overlapping windows of one text, as HF's <c>aggregate_overlapping_entities</c>: in start order
    /// (ties keep their order), an entity starting inside the one kept before it replaces that one when it is longer, or as
    /// long with a higher score, and is dropped otherwise; so an entity cut at a window's edge gives way to the whole one the
    /// next window sees, and one both windows see whole is kept once.
    /// </summary>
    /// <param name="entities">The entities of all windows; spans are offsets in the whole text.</param>
    public static List<TokenEntity> AggregateOverlapping(IEnumerable<TokenEntity> entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        var sorted = entities.OrderBy(e => e.Start).ToList();
        var result = new List<TokenEntity>();
        if (sorted.Count == 0)
        {
            return result;
        }
        var previous = sorted[0];
        foreach (var e in sorted.Skip(1))
        {
            if (previous.Start <= e.Start && e.Start < previous.End)
            {
                var length = e.End - e.Start;
                var previousLength = previous.End - previous.Start;
                if (length > previousLength || (length == previousLength && e.Score > previous.Score))
                {
                    previous = e;
                }
            }
            else
            {
                result.Add(previous);
                previous = e;
            }
        }
        result.Add(previous);
        return result;
    }

    private static List<TokenEntity> AggregateWords(IReadOnlyList<TokenScores> tokens, IReadOnlyList<string> labels, AggregationStrategy strategy, bool decoderCleanup)
    {
        var words = new List<TokenEntity>();
        var group = new List<TokenScores>();
        foreach (var t in tokens)
        {
            if (group.Count > 0 && !t.IsSubword)
            {
                words.Add(AggregateWord(group, labels, strategy, decoderCleanup));
                group.Clear();
            }
            group.Add(t);
        }
        if (group.Count > 0)
        {
            words.Add(AggregateWord(group, labels, strategy, decoderCleanup));
        }
        return words;
    }

    private static TokenEntity AggregateWord(List<TokenScores> group, IReadOnlyList<string> labels, AggregationStrategy strategy, bool decoderCleanup)
    {
        double[] scores = strategy switch
        {
            AggregationStrategy.First => group[0].Scores,
            AggregationStrategy.Max => group.MaxBy(t => t.Scores.Max())!.Scores,
            _ => [.. Enumerable.Range(0, group[0].Scores.Length).Select(k => group.Average(t => t.Scores[k]))],
        };
        var best = ScoreMath.ArgMax(scores);
        return new TokenEntity(labels[best], scores[best], BertTokenizer.ConvertTokensToString(group.Select(t => t.Token), decoderCleanup), group[0].Start, group[^1].End);
    }

    private static (string Bi, string Tag) Tag(string entity) =>
        entity.StartsWith("B-", StringComparison.Ordinal) ? ("B", entity[2..])
        : entity.StartsWith("I-", StringComparison.Ordinal) ? ("I", entity[2..])
        : ("I", entity); // not in B-/I- form: treated as a continuation, as HF does

    private static List<TokenEntity> GroupEntities(List<TokenEntity> entities, bool decoderCleanup)
    {
        var groups = new List<TokenEntity>();
        var current = new List<TokenEntity>();
        foreach (var e in entities)
        {
            if (current.Count > 0)
            {
                var (bi, tag) = Tag(e.Entity);
                var (_, lastTag) = Tag(current[^1].Entity);
                if (tag != lastTag || bi == "B")
                {
                    groups.Add(Group(current, decoderCleanup));
                    current.Clear();
                }
            }
            current.Add(e);
        }
        if (current.Count > 0)
        {
            groups.Add(Group(current, decoderCleanup));
        }
        return groups;
    }

    private static TokenEntity Group(List<TokenEntity> members, bool decoderCleanup)
    {
        var entity = members[0].Entity;
        var dash = entity.IndexOf('-', StringComparison.Ordinal);
        var tag = dash >= 0 ? entity[(dash + 1)..] : entity;
        return new TokenEntity(tag, members.Average(m => m.Score), BertTokenizer.ConvertTokensToString(members.Select(m => m.Word), decoderCleanup), members[0].Start, members[^1].End);
    }
}
