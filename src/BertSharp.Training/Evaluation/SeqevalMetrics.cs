using System.Text;
using BertSharp.Runtime;

namespace BertSharp.Evaluation;

/// <summary>An entity chunk: its type and its first and last tag position (in the flattened tag sequence).</summary>
public readonly record struct EntityChunk(string Type, int Start, int End);

/// <summary>Precision, recall, F1 and the number of gold entities (support) of one entity type, or of all (micro).</summary>
public readonly record struct EntityScores(double Precision, double Recall, double F1, int Support)
{
    /// <summary>The number of predicted entities (the precision's denominator, as <see cref="Support"/> is the recall's).</summary>
    public int Predicted { get; init; }
}

/// <summary>Entity-level scores per type and micro-averaged, and the token accuracy.</summary>
/// <param name="PerType">Scores per entity type, by type name (ordinal order).</param>
/// <param name="Micro">Micro-averaged over all entities.</param>
/// <param name="Accuracy">Fraction of tags predicted exactly.</param>
public sealed record SeqevalReport(IReadOnlyDictionary<string, EntityScores> PerType, EntityScores Micro, double Accuracy)
{
    /// <summary>The scheme of seqeval's strict mode the entities were read by, or null for its default mode.</summary>
    public SeqevalScheme? StrictScheme { get; init; }

    // The per-type scores as values, not the dictionary's type name.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"PerType = {RecordText.Value(PerType)}, Micro = {RecordText.Value(Micro)}, Accuracy = {Accuracy}, StrictScheme = {StrictScheme}"));
        return true;
    }
}

/// <summary>
/// seqeval's evaluation. By default (non-strict), as HF run_ner reports it: entities are read from IOB1 / IOB2 / IOE / IOBES
/// tags with seqeval's <c>get_entities</c> chunking rules (an <c>I-X</c> after <c>O</c> or after another type starts an
/// entity), sentences are joined with an <c>O</c> between them, and an entity counts as right when type, start and end
/// all match. Precision / recall / F1 are 0 where their denominator is 0 (seqeval's <c>zero_division</c> default, with its
/// warning left out: <see cref="EntityScores.Predicted"/> and <see cref="EntityScores.Support"/> of 0 tell where).
/// In strict mode the entities are those of <see cref="SeqevalStrict"/> under the scheme given, the rest as by default.
/// </summary>
public static class SeqevalMetrics
{
    /// <summary>The entities of one tag sequence (seqeval <c>get_entities</c>, prefix tags such as <c>B-PER</c>).</summary>
    /// <exception cref="ArgumentException">A tag is null or empty.</exception>
    public static List<EntityChunk> Entities(IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var chunks = new List<EntityChunk>();
        var prevTag = 'O';
        var prevType = "";
        var begin = 0;
        for (var i = 0; i <= tags.Count; i++)
        {
            var chunk = i < tags.Count ? tags[i] : "O";
            if (string.IsNullOrEmpty(chunk))
            {
                // get_entities fails on it (chunk[0]); reading it as O would score a tag that is no tag.
                throw new ArgumentException(Invariant($"the tag at position {i} is {(chunk is null ? "null" : "empty")}; expected a tag such as O or B-PER."), nameof(tags));
            }
            var tag = chunk[0];
            var rest = chunk.Length > 1 ? chunk[1..] : "";
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            var type = dash >= 0 ? rest[(dash + 1)..] : rest;
            if (type.Length == 0)
            {
                type = "_";
            }
            if (EndOfChunk(prevTag, tag, prevType, type))
            {
                chunks.Add(new EntityChunk(prevType, begin, i - 1));
            }
            if (StartOfChunk(prevTag, tag, prevType, type))
            {
                begin = i;
            }
            prevTag = tag;
            prevType = type;
        }
        return chunks;
    }

    /// <summary>Scores predicted tag sequences against gold ones (one list per sentence, equal lengths).</summary>
    /// <param name="truth">The gold tags.</param>
    /// <param name="predicted">The predicted tags.</param>
    /// <param name="strictScheme">seqeval's strict mode with this scheme (a tag outside it is an error); null for its default mode.</param>
    /// <exception cref="ArgumentNullException">A list of sentences is null.</exception>
    /// <exception cref="ArgumentException">
    /// A sentence or a tag is null, a tag is empty (seqeval fails on it; it is no O), the sentences or their lengths differ,
    /// or there are no tags at all: their token accuracy has no value, and a 0 for it read as a model that got every tag wrong.
    /// </exception>
    public static SeqevalReport Evaluate(IReadOnlyList<IReadOnlyList<string>> truth, IReadOnlyList<IReadOnlyList<string>> predicted, SeqevalScheme? strictScheme = null)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(predicted);
        if (truth.Count != predicted.Count)
        {
            throw new ArgumentException(Invariant($"expected one predicted sentence per gold one: truth has {truth.Count} sentences, predicted {predicted.Count}."), nameof(predicted));
        }
        for (var s = 0; s < truth.Count; s++)
        {
            var goldTags = CheckedSentence(truth, s, nameof(truth));
            var predictedTags = CheckedSentence(predicted, s, nameof(predicted));
            if (goldTags.Count != predictedTags.Count)
            {
                throw new ArgumentException(Invariant($"expected one predicted tag per gold tag: sentence {s} has {goldTags.Count} in truth, {predictedTags.Count} predicted."), nameof(predicted));
            }
        }
        ClassificationMetrics.RequirePredictions(predicted.Sum(p => p.Count), nameof(predicted));
        // Sentences can be read as one sequence in strict mode too: the O between them is never inside a chunk, and a chunk
        // after it starts as one after seqeval's fresh start of a sentence does.
        List<EntityChunk> Read(IReadOnlyList<IReadOnlyList<string>> tags, string name) =>
            strictScheme is { } scheme ? SeqevalStrict.Entities(Flatten(tags), scheme, name) : Entities(Flatten(tags));
        var gold = Read(truth, nameof(truth)).ToHashSet();
        var pred = Read(predicted, nameof(predicted)).ToHashSet();
        var types = gold.Select(c => c.Type).Concat(pred.Select(c => c.Type)).Distinct().Order(StringComparer.Ordinal);
        var perType = new SortedDictionary<string, EntityScores>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            perType[type] = Scores(gold.Where(c => c.Type == type).ToHashSet(), pred.Where(c => c.Type == type).ToHashSet());
        }
        var tokens = truth.Sum(t => t.Count);
        var right = truth.Select((t, s) => t.Where((tag, i) => tag == predicted[s][i]).Count()).Sum();
        return new SeqevalReport(perType, Scores(gold, pred), (double)right / tokens) { StrictScheme = strictScheme };
    }

    // Checked up front: a null sentence or tag failed deep in the chunking with a NullReferenceException that named neither,
    // and an empty tag, on which seqeval's get_entities fails, was read as O in the default mode.
    private static IReadOnlyList<string> CheckedSentence(IReadOnlyList<IReadOnlyList<string>> sentences, int s, string parameter)
    {
        var tags = sentences[s] ?? throw new ArgumentException(Invariant($"sentence {s} is null; expected its list of tags."), parameter);
        for (var i = 0; i < tags.Count; i++)
        {
            if (string.IsNullOrEmpty(tags[i]))
            {
                throw new ArgumentException(Invariant($"sentence {s} has {(tags[i] is null ? "a null" : "an empty")} tag at position {i}; expected a tag such as O or B-PER."), parameter);
            }
        }
        return tags;
    }

    private static EntityScores Scores(HashSet<EntityChunk> gold, HashSet<EntityChunk> pred)
    {
        var correct = gold.Intersect(pred).Count();
        var p = pred.Count == 0 ? 0 : (double)correct / pred.Count;
        var r = gold.Count == 0 ? 0 : (double)correct / gold.Count;
        var f = p + r == 0 ? 0 : 2 * p * r / (p + r);
        return new EntityScores(p, r, f, gold.Count) { Predicted = pred.Count };
    }

    /// <summary>seqeval joins the sentences of a nested list with an "O" after each.</summary>
    private static List<string> Flatten(IReadOnlyList<IReadOnlyList<string>> sentences) => [.. sentences.SelectMany(s => s.Append("O"))];

    private static bool EndOfChunk(char prevTag, char tag, string prevType, string type) =>
        prevTag is 'E' or 'S'
        || (prevTag == 'B' && tag is 'B' or 'S' or 'O')
        || (prevTag == 'I' && tag is 'B' or 'S' or 'O')
        || (prevTag != 'O' && prevTag != '.' && prevType != type);

    private static bool StartOfChunk(char prevTag, char tag, string prevType, string type) =>
        tag is 'B' or 'S'
        || (prevTag == 'E' && tag is 'E' or 'I')
        || (prevTag == 'S' && tag is 'E' or 'I')
        || (prevTag == 'O' && tag is 'E' or 'I')
        || (tag != 'O' && tag != '.' && prevType != type);
}
