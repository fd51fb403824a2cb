using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>The candidate labels of one text, most likely first (HF's zero-shot pipeline's <c>{sequence, labels, scores}</c>).</summary>
/// <param name="Sequence">The text classified.</param>
/// <param name="Labels">The candidate labels [labels], sorted by score descending (equal scores in the reverse of the order they were given in, as HF's sort leaves them).</param>
/// <param name="Scores">Each label's score [labels], in the order of <paramref name="Labels"/>.</param>
public sealed record ZeroShotResult(string Sequence, IReadOnlyList<string> Labels, IReadOnlyList<double> Scores);

/// <summary>
/// Zero-shot classification as HF's <c>ZeroShotClassificationPipeline</c>: each candidate label becomes a hypothesis
/// (<see cref="DefaultHypothesisTemplate"/> with the label in place of <c>{}</c>), the pair <c>[CLS] text [SEP] hypothesis [SEP]</c>
/// goes through a sequence classifier fine-tuned on NLI (MNLI), and the labels are scored from its entailment and
/// contradiction logits. Only the text is cut to <see cref="TextClassifier.MaxLength"/> (HF's only_first), so every
/// hypothesis is read whole. Pairs are batched by length as <see cref="TextClassifier"/> batches them; it may be called
/// from several threads at once.
/// </summary>
public sealed class ZeroShotClassifier : IDisposable
{
    /// <summary>HF's default <c>hypothesis_template</c>.</summary>
    public const string DefaultHypothesisTemplate = "This example is {}.";

    private readonly bool _ownsClassifier;

    private ZeroShotClassifier(TextClassifier classifier, int entailmentId, bool ownsClassifier)
    {
        Classifier = classifier;
        EntailmentId = entailmentId;
        // HF's rule: the contradiction logit is the first label's, or the last one's when entailment is the first.
        ContradictionId = entailmentId == 0 ? classifier.Labels.Labels.Count - 1 : 0;
        _ownsClassifier = ownsClassifier;
    }

    /// <summary>The NLI classifier underneath (its model, tokenizer, labels and device).</summary>
    public TextClassifier Classifier { get; }

    /// <summary>The class id of the entailment label: the first in id order whose name starts with "entail", ignoring case.</summary>
    public int EntailmentId { get; }

    /// <summary>The class id read as contradiction by multi-label scoring: 0, or the last id when <see cref="EntailmentId"/> is 0 (HF's rule).</summary>
    public int ContradictionId { get; }

    /// <summary>
    /// Loads an NLI BertForSequenceClassification directory or Hub id; <paramref name="maxLength"/> as
    /// <see cref="TextClassifier.Load(string, string, int?)"/> takes it.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// The model has no label whose name starts with "entail" (naming the labels it has), has fewer than two labels, is a
    /// regression, or was fine-tuned on single texts.
    /// </exception>
    public static ZeroShotClassifier Load(string modelDirectory, string device = "auto", int? maxLength = null) =>
        OwnedClassifier.Over(TextClassifier.Load(modelDirectory, device, maxLength), c => Over(c, modelDirectory, ownsClassifier: true));

    /// <summary>
    /// As <see cref="Load(string, string, int?)"/>, with <paramref name="backend"/> running the forward passes (ONNX Runtime
    /// over the graph of <c>bert export-onnx</c>, on the CPU); the scores are computed from its logits as from TorchSharp's.
    /// </summary>
    /// <exception cref="BertSharpException">As <see cref="Load(string, string, int?)"/>, or the graph cannot be loaded.</exception>
    public static ZeroShotClassifier Load(string modelDirectory, InferenceBackend backend, int? maxLength = null) =>
        OwnedClassifier.Over(TextClassifier.Load(modelDirectory, backend, maxLength), c => Over(c, modelDirectory, ownsClassifier: true));

    /// <summary>A zero-shot classifier over <paramref name="classifier"/>, or the refusal of <see cref="Load(string, string, int?)"/>.</summary>
    internal static ZeroShotClassifier Over(TextClassifier classifier, string name, bool ownsClassifier = false)
    {
        var labels = classifier.Labels;
        var names = string.Join(", ", labels.Labels);
        if (labels.IsRegression || labels.Labels.Count < 2)
        {
            throw new BertSharpException(Invariant($"{name}: not an NLI classifier; zero-shot classification reads entailment against contradiction, and this model has {labels.NumLabels} {(labels.NumLabels == 1 ? "label" : "labels")} ({names})."));
        }
        // HF only warns and reads the last label's logit as entailment: with labels such as LABEL_0..2 that is a guess the
        // scores would not show, so a model whose config does not name its entailment label is refused instead.
        var entailment = labels.Labels.ToList().FindIndex(l => l.StartsWith("entail", StringComparison.OrdinalIgnoreCase));
        if (entailment < 0)
        {
            throw new BertSharpException($"{name}: no entailment label; zero-shot classification needs an NLI model whose config.json id2label names one starting with \"entail\" (this model's labels: {names}).");
        }
        if (classifier.PairMismatch(hasPair: true) is { } pairing)
        {
            throw new BertSharpException($"{name}: not an NLI classifier; {pairing}.");
        }
        return new ZeroShotClassifier(classifier, entailment, ownsClassifier);
    }

    /// <summary>
    /// The candidate labels of a comma-separated string, as HF's argument handler splits one: each entry trimmed, empty
    /// entries dropped.
    /// </summary>
    public static IReadOnlyList<string> ParseLabels(string labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return [.. labels.Split(',').Select(l => l.Trim()).Where(l => l.Length > 0)];
    }

    /// <summary>The hypothesis of <paramref name="label"/>: <paramref name="template"/> with every <c>{}</c> replaced by it.</summary>
    /// <exception cref="BertSharpException">The template has no <c>{}</c>.</exception>
    public static string Hypothesis(string template, string label)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(label);
        if (!template.Contains("{}", StringComparison.Ordinal))
        {
            throw new BertSharpException($"{BertSharpException.Field("hypothesis_template")} \"{template}\": no {{}} where the label should go (e.g. \"{DefaultHypothesisTemplate}\").");
        }
        return template.Replace("{}", label, StringComparison.Ordinal);
    }

    /// <summary>
    /// Scores <paramref name="candidateLabels"/> for every text of <paramref name="sequences"/>. Single-label (the default):
    /// a softmax over the labels' entailment logits, so the scores of a text sum to 1. <paramref name="multiLabel"/> (or a
    /// single candidate label): each label on its own, the softmax of its [contradiction, entailment] logits.
    /// </summary>
    /// <param name="sequences">The texts [texts]; each must keep a word piece.</param>
    /// <param name="candidateLabels">The labels [labels]: at least one, none empty, none twice.</param>
    /// <param name="hypothesisTemplate">The hypothesis of each label, with <c>{}</c> where the label goes.</param>
    /// <param name="multiLabel">Score each label independently (several may be true).</param>
    /// <param name="batchSize">Pairs per forward pass.</param>
    /// <returns>One result per text [texts], its labels sorted by score descending.</returns>
    /// <exception cref="BertSharpException">
    /// No labels, an empty or repeated label, a template without <c>{}</c>, a text without word pieces, or a hypothesis that
    /// leaves no room for the text within <see cref="TextClassifier.MaxLength"/>; each names its field.
    /// </exception>
    public IReadOnlyList<ZeroShotResult> Classify(IReadOnlyList<string> sequences, IReadOnlyList<string> candidateLabels,
        string hypothesisTemplate = DefaultHypothesisTemplate, bool multiLabel = false, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(candidateLabels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var hypotheses = Hypotheses(candidateLabels, hypothesisTemplate);
        for (var i = 0; i < sequences.Count; i++)
        {
            WordPieces.Require(Classifier.Tokenizer, sequences[i], BertSharpException.Field("sequences") + (sequences.Count > 1 ? Invariant($"[{i}]") : ""));
        }
        return Results(sequences, candidateLabels, PairLogits(sequences, hypotheses, batchSize), multiLabel);
    }

    /// <summary>
    /// The results of <paramref name="sequences"/> from the logits [texts × labels][classes] of their pairs, text by text (as
    /// <see cref="PairLogits"/> orders them); shared with the server, whose micro-batcher computes the logits.
    /// </summary>
    internal IReadOnlyList<ZeroShotResult> Results(IReadOnlyList<string> sequences, IReadOnlyList<string> candidateLabels, float[][] logits, bool multiLabel)
    {
        var n = candidateLabels.Count;
        var results = new ZeroShotResult[sequences.Count];
        for (var s = 0; s < sequences.Count; s++)
        {
            var scores = Scores(logits.AsSpan(s * n, n), multiLabel || n == 1);
            // HF sorts with reversed(scores.argsort()): numpy's sort of a few labels is stable, so reversing puts equal
            // scores in the reverse of the labels' order (labels that tokenize alike, such as "Good" and "good" uncased).
            int[] order = [.. Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenByDescending(i => i)];
            results[s] = new ZeroShotResult(sequences[s], [.. order.Select(i => candidateLabels[i])], [.. order.Select(i => scores[i])]);
        }
        return results;
    }

    /// <summary>Scores the labels of one text (<see cref="Classify(IReadOnlyList{string}, IReadOnlyList{string}, string, bool, int)"/>).</summary>
    public ZeroShotResult Classify(string sequence, IReadOnlyList<string> candidateLabels, string hypothesisTemplate = DefaultHypothesisTemplate,
        bool multiLabel = false, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        return Classify([sequence], candidateLabels, hypothesisTemplate, multiLabel, batchSize)[0];
    }

    /// <summary>
    /// Refuses an empty list of labels, an empty label and a label given twice (in single-label mode its two copies would
    /// split its probability), naming <paramref name="field"/> and the label's index; shared with the CLI, which checks
    /// before it loads the model.
    /// </summary>
    internal static void RequireLabels(IReadOnlyList<string> labels, string field)
    {
        if (labels.Count == 0)
        {
            throw new BertSharpException($"{field}: none given; expected at least one label.");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(labels[i], nameof(labels));
            var which = field + Invariant($"[{i}]");
            if (string.IsNullOrWhiteSpace(labels[i]))
            {
                throw new BertSharpException($"{which}: empty or white space only; expected a label.");
            }
            if (!seen.Add(labels[i]))
            {
                throw new BertSharpException($"{which}: \"{labels[i]}\" is given twice; expected each label once.");
            }
        }
    }

    /// <summary>
    /// The hypothesis of every label, after the labels and the template are checked (the server checks a request with it
    /// before queuing its pairs).
    /// </summary>
    internal string[] Hypotheses(IReadOnlyList<string> labels, string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        RequireLabels(labels, BertSharpException.Field("candidate_labels"));
        string[] hypotheses = [.. labels.Select(l => Hypothesis(template, l))];
        // only_first cannot cut the text below one word piece: HF then reads the pair uncut, past the length the model was set
        // to; here a hypothesis that long is refused, naming its label.
        for (var i = 0; i < hypotheses.Length; i++)
        {
            var pieces = Classifier.Tokenizer.CountTokens(hypotheses[i]);
            if (pieces + 4 > Classifier.MaxLength)
            {
                throw new BertSharpException(Invariant(
                    $"{BertSharpException.Field("candidate_labels")}[{i}]: the hypothesis \"{hypotheses[i]}\" is {pieces} word pieces, which leaves no room for the text within the maximum length of {Classifier.MaxLength} tokens; expected a shorter label or hypothesis_template."));
            }
        }
        return hypotheses;
    }

    /// <summary>The logits [texts × labels][classes] of every (text, hypothesis) pair, text by text, the text cut only_first.</summary>
    internal float[][] PairLogits(IReadOnlyList<string> sequences, IReadOnlyList<string> hypotheses, int batchSize)
    {
        return Logits([.. sequences.SelectMany(s => hypotheses.Select(h => (s, (string?)h)))], batchSize);
    }

    /// <summary>The logits [pairs][classes] of (text, hypothesis) pairs, the text cut only_first.</summary>
    internal float[][] Logits(IReadOnlyList<(string, string?)> pairs, int batchSize)
    {
        if (pairs.Count == 0)
        {
            return [];
        }
        var logits = Classifier.Logits(pairs, batchSize, Classifier.TruncationSide, TruncationStrategy.OnlyFirst);
        foreach (var l in logits)
        {
            NonFiniteOutputException.ThrowIfNotFinite(l, "logits");
        }
        return logits;
    }

    private double[] Scores(ReadOnlySpan<float[]> logits, bool independent)
    {
        var scores = new double[logits.Length];
        if (independent)
        {
            for (var i = 0; i < logits.Length; i++)
            {
                scores[i] = ScoreMath.Softmax([logits[i][ContradictionId], logits[i][EntailmentId]])[1];
            }
            return scores;
        }
        var entailment = new float[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            entailment[i] = logits[i][EntailmentId];
        }
        return ScoreMath.Softmax(entailment);
    }

    /// <summary>Frees the model when <see cref="Load(string, string, int?)"/> or <see cref="Load(string, InferenceBackend, int?)"/> made it; later calls throw <see cref="ObjectDisposedException"/> then.</summary>
    public void Dispose()
    {
        if (_ownsClassifier)
        {
            Classifier.Dispose();
        }
    }
}
