using System.Text.Json.Nodes;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>One text of a ranking.</summary>
/// <param name="Index">Its position in the texts given to <see cref="CrossEncoder.Rank"/> (sentence-transformers' <c>corpus_id</c>).</param>
/// <param name="Score">Its relevance to the query (<see cref="CrossEncoder.Predict"/>'s score).</param>
/// <param name="Text">The text.</param>
public sealed record RankedText(int Index, double Score, string Text);

/// <summary>What a cross-encoder does to its one logit before reporting it (sentence-transformers' <c>activation_fn</c>).</summary>
public enum CrossEncoderActivation
{
    /// <summary>The logistic sigmoid: a score in (0, 1), sentence-transformers' default for one label.</summary>
    Sigmoid,

    /// <summary>The logit as it is (config.json names <c>torch.nn.modules.linear.Identity</c>, as the ms-marco cross-encoders do).</summary>
    Identity,
}

/// <summary>
/// A reranker: a one-label sequence classifier (sentence-transformers' <c>CrossEncoder</c>, e.g.
/// cross-encoder/ms-marco-MiniLM-L6-v2) that reads the query and each text as one pair, <c>[CLS] query [SEP] text [SEP]</c>,
/// and scores their relevance. Pairs are cut longest-first to <see cref="MaxLength"/> and batched by length as
/// <see cref="TextClassifier"/> batches them; it may be called from several threads at once.
/// </summary>
public sealed class CrossEncoder : IDisposable
{
    private readonly bool _ownsClassifier;

    private CrossEncoder(TextClassifier classifier, CrossEncoderActivation activation, bool ownsClassifier)
    {
        Classifier = classifier;
        Activation = activation;
        _ownsClassifier = ownsClassifier;
    }

    /// <summary>The classifier underneath (its model, tokenizer and device).</summary>
    public TextClassifier Classifier { get; }

    /// <summary>
    /// What <see cref="Predict"/> applies to the logit unless raw scores are asked for: as sentence-transformers decides it, from
    /// config.json's <c>sentence_transformers.activation_fn</c> or <c>sbert_ce_default_activation_function</c>, else sigmoid.
    /// </summary>
    public CrossEncoderActivation Activation { get; }

    /// <summary>Pairs longer than this many tokens (special tokens included) are cut.</summary>
    public int MaxLength => Classifier.MaxLength;

    /// <summary>
    /// Loads a one-label BertForSequenceClassification directory or Hub id; <paramref name="maxLength"/> as
    /// <see cref="TextClassifier.Load(string, string, int?)"/> takes it.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// The model has more than one label (sentence-transformers' <c>rank</c> refuses such a model too: its logits are a
    /// classifier's labels, not one relevance score), was fine-tuned on single texts, or names an activation other than
    /// sigmoid or identity.
    /// </exception>
    public static CrossEncoder Load(string modelDirectory, string device = "auto", int? maxLength = null) =>
        OwnedClassifier.Over(TextClassifier.Load(modelDirectory, device, maxLength), c => Over(c, modelDirectory, ownsClassifier: true));

    /// <summary>
    /// As <see cref="Load(string, string, int?)"/>, with <paramref name="backend"/> running the forward passes (ONNX Runtime
    /// over the graph of <c>bert export-onnx</c>, on the CPU); the scores are computed from its logits [pairs, 1] as from TorchSharp's.
    /// </summary>
    /// <exception cref="BertSharpException">As <see cref="Load(string, string, int?)"/>, or the graph cannot be loaded.</exception>
    public static CrossEncoder Load(string modelDirectory, InferenceBackend backend, int? maxLength = null) =>
        OwnedClassifier.Over(TextClassifier.Load(modelDirectory, backend, maxLength), c => Over(c, modelDirectory, ownsClassifier: true));

    /// <summary>
    /// A cross-encoder over <paramref name="classifier"/>, or the refusal of <see cref="Load(string, string, int?)"/>. Without
    /// <paramref name="configActivation"/> its scores are the sigmoid whatever config.json names, as text-embeddings-inference
    /// scores them (a server's, over a classifier the server keeps).
    /// </summary>
    internal static CrossEncoder Over(TextClassifier classifier, string name, bool ownsClassifier = false, bool configActivation = true)
    {
        if (NotOneLabel(classifier, name) is { } why)
        {
            throw new BertSharpException(why);
        }
        var activation = configActivation ? ActivationOf(classifier.Model.Config, name) : CrossEncoderActivation.Sigmoid;
        return new CrossEncoder(classifier, activation, ownsClassifier);
    }

    /// <summary>Why <paramref name="classifier"/> cannot rerank, or null when it can: one label, and not fine-tuned on single texts.</summary>
    internal static string? NotOneLabel(TextClassifier classifier, string name)
    {
        var labels = classifier.Model.Config.NumLabels;
        if (labels != 1)
        {
            return Invariant($"{name}: a cross-encoder scores each pair with one logit; this model has {labels} labels ({string.Join(", ", classifier.Labels.Labels)}), a classifier's answers, not a relevance score.");
        }
        return classifier.PairMismatch(hasPair: true) is { } pairing ? $"{name}: not a cross-encoder; {pairing}." : null;
    }

    private static CrossEncoderActivation ActivationOf(BertConfig config, string name)
    {
        // sentence-transformers v4 writes its own section; older versions the flat key, which the ms-marco models carry.
        var (key, value) = config.Extra.TryGetValue("sentence_transformers", out var section) && section is JsonObject st && st["activation_fn"] is { } fn
            ? ("sentence_transformers.activation_fn", fn)
            : config.Extra.TryGetValue("sbert_ce_default_activation_function", out var flat) && flat is not null
                ? ("sbert_ce_default_activation_function", flat)
                : ((string?)null, (JsonNode?)null);
        if (key is null)
        {
            return CrossEncoderActivation.Sigmoid;
        }
        var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value!.ToJsonString();
        return text switch
        {
            "torch.nn.modules.activation.Sigmoid" => CrossEncoderActivation.Sigmoid,
            "torch.nn.modules.linear.Identity" => CrossEncoderActivation.Identity,
            _ => throw new BertSharpException($"{name}: config.json field '{key}' is {text}; expected torch.nn.modules.activation.Sigmoid or torch.nn.modules.linear.Identity."),
        };
    }

    /// <summary>
    /// The relevance score of every (query, text) pair, in order: <see cref="Activation"/> of the model's logit, or the logit
    /// itself with <paramref name="rawScores"/>.
    /// </summary>
    /// <param name="pairs">The pairs; each text must keep a word piece.</param>
    /// <param name="rawScores">Report the logit without the activation.</param>
    /// <param name="batchSize">Pairs per forward pass.</param>
    /// <param name="truncation">Which end of a long pair is cut (default: the side the model was fine-tuned with, else the end, as HF tokenizers cut).</param>
    /// <returns>One score per pair [pairs].</returns>
    /// <exception cref="BertSharpException">A query or text is empty or keeps no word piece, naming it.</exception>
    public IReadOnlyList<double> Predict(IReadOnlyList<(string Query, string Text)> pairs, bool rawScores = false, int batchSize = 32, TruncationSide? truncation = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var many = pairs.Count > 1;
        for (var i = 0; i < pairs.Count; i++)
        {
            var which = many ? Invariant($" of pairs[{i}]") : "";
            WordPieces.Require(Classifier.Tokenizer, pairs[i].Query, BertSharpException.Field("query") + which);
            WordPieces.Require(Classifier.Tokenizer, pairs[i].Text, BertSharpException.Field("text") + which);
        }
        return Scores(pairs, rawScores, batchSize, truncation);
    }

    /// <summary>
    /// <see cref="Predict"/> of pairs already checked (<see cref="Rank"/> and the server check each text by its own name first):
    /// a text without word pieces reaches the model.
    /// </summary>
    internal IReadOnlyList<double> Scores(IReadOnlyList<(string Query, string Text)> pairs, bool rawScores, int batchSize, TruncationSide? truncation)
    {
        if (pairs.Count == 0)
        {
            return [];
        }
        var logits = Classifier.Logits([.. pairs.Select(p => (p.Query, (string?)p.Text))], batchSize, truncation ?? Classifier.TruncationSide);
        var scores = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            NonFiniteOutputException.ThrowIfNotFinite(logits[i], "logits");
            scores[i] = rawScores || Activation == CrossEncoderActivation.Identity ? logits[i][0] : ScoreMath.Sigmoid(logits[i])[0];
        }
        return scores;
    }

    /// <summary>
    /// Ranks <paramref name="texts"/> by their relevance to <paramref name="query"/>, most relevant first (equal scores keep
    /// the texts' order), as sentence-transformers' <c>CrossEncoder.rank</c> does.
    /// </summary>
    /// <param name="query">The query.</param>
    /// <param name="texts">The texts to rank (none gives an empty ranking).</param>
    /// <param name="topK">Keep the best this many (null: all).</param>
    /// <param name="rawScores">Scores as logits (<see cref="Predict"/>).</param>
    /// <param name="batchSize">Pairs per forward pass.</param>
    /// <param name="truncation">Which end of a long pair is cut (<see cref="Predict"/>).</param>
    /// <returns>At most <paramref name="topK"/> texts [min(topK, texts)], best first.</returns>
    /// <exception cref="BertSharpException">The query or a text is empty, or <paramref name="topK"/> is below 1.</exception>
    public IReadOnlyList<RankedText> Rank(string query, IReadOnlyList<string> texts, int? topK = null, bool rawScores = false, int batchSize = 32,
        TruncationSide? truncation = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(texts);
        if (topK < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("top_k")} {topK}: expected at least 1."));
        }
        WordPieces.Require(Classifier.Tokenizer, query, BertSharpException.Field("query"));
        for (var i = 0; i < texts.Count; i++)
        {
            WordPieces.Require(Classifier.Tokenizer, texts[i], BertSharpException.Field("texts") + Invariant($"[{i}]"));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var scores = Scores([.. texts.Select(t => (query, t))], rawScores, batchSize, truncation);
        // OrderByDescending is stable: ties keep the texts' order, as Python's sorted does in sentence-transformers.
        var ranked = scores.Select((s, i) => new RankedText(i, s, texts[i])).OrderByDescending(r => r.Score);
        return [.. topK is { } k ? ranked.Take(k) : ranked];
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
