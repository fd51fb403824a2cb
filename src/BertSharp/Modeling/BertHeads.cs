using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>BERT pre-training model: MLM head with the decoder tied to the word embeddings, plus the NSP head.</summary>
public sealed class BertForPreTraining : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly BertClsHeads cls;

    /// <summary>
    /// Builds the encoder with its pooler, the MLM head and the NSP head for <paramref name="config"/>, which the model
    /// keeps (not a copy). The weights are TorchSharp's default initialization (not HF's:
    /// <see cref="BertPretrained.Create"/> applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForPreTraining(BertConfig config) : base(nameof(BertForPreTraining), config)
    {
        bert = new BertModel(config);
        cls = new BertClsHeads(config, mlm: true, nsp: true);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> TiedKeys { get; } = BertHeadKeys.MlmTies;

    /// <summary>Forward pass; <paramref name="labels"/> [batch, seq] (-100 = ignore), <paramref name="nextSentenceLabel"/> [batch].</summary>
    /// <param name="input">Token ids, mask and segment ids.</param>
    /// <param name="labels">MLM labels [batch, seq], -100 where nothing is predicted.</param>
    /// <param name="nextSentenceLabel">NSP labels [batch] (0 = IsNext).</param>
    /// <param name="outputHiddenStates">Also return every layer's hidden states.</param>
    /// <param name="outputAttentions">Also return every layer's attention probabilities.</param>
    /// <param name="logitsAtLabelledPositionsOnly">
    /// Run the MLM head only where <paramref name="labels"/> != -100 (as google-research/bert's <c>gather_indexes</c> does):
    /// <see cref="BertForPreTrainingOutput.PredictionLogits"/> is then [labelled positions, vocab] in row-major order. The loss
    /// is the same mean cross-entropy, but about 15 % of the positions pass through the vocabulary-sized decoder.
    /// </param>
    public BertForPreTrainingOutput Forward(BertInput input, Tensor? labels = null, Tensor? nextSentenceLabel = null,
        bool outputHiddenStates = false, bool outputAttentions = false, bool logitsAtLabelledPositionsOnly = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        var nsp = cls.SeqRelationship(o.PoolerOutput!);
        var (logits, mlmLoss) = MaskedLmHead.Run(cls, bert, o.LastHiddenState, labels, logitsAtLabelledPositionsOnly);
        var nspLoss = nextSentenceLabel is null ? null : Losses.CrossEntropy(nsp, nextSentenceLabel, "next_sentence_label");
        var loss = mlmLoss is not null && nspLoss is not null ? StableScalars.Add(mlmLoss, nspLoss) : null;
        return new BertForPreTrainingOutput(logits, nsp, loss, mlmLoss, nspLoss, o);
    }
}

/// <summary>BERT with the MLM head only (no pooler, as HF builds it).</summary>
public sealed class BertForMaskedLM : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly BertClsHeads cls;

    /// <summary>
    /// Builds the encoder without a pooler and the MLM head for <paramref name="config"/>, which the model keeps (not a
    /// copy). The weights are TorchSharp's default initialization (not HF's: <see cref="BertPretrained.Create"/>
    /// applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForMaskedLM(BertConfig config) : base(nameof(BertForMaskedLM), config)
    {
        bert = new BertModel(config, addPoolingLayer: false);
        cls = new BertClsHeads(config, mlm: true, nsp: false);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> TiedKeys { get; } = BertHeadKeys.MlmTies;

    /// <summary>Forward pass; <paramref name="labels"/> [batch, seq] with -100 at positions that are not predicted.</summary>
    /// <param name="input">Token ids, mask and segment ids.</param>
    /// <param name="labels">MLM labels [batch, seq], -100 where nothing is predicted.</param>
    /// <param name="outputHiddenStates">Also return every layer's hidden states.</param>
    /// <param name="outputAttentions">Also return every layer's attention probabilities.</param>
    /// <param name="logitsAtLabelledPositionsOnly">
    /// Run the head only where <paramref name="labels"/> != -100 (google-research/bert's <c>gather_indexes</c>):
    /// <see cref="MaskedLMOutput.Logits"/> is then [labelled positions, vocab] in row-major order; the loss is the same mean.
    /// </param>
    public MaskedLMOutput Forward(BertInput input, Tensor? labels = null, bool outputHiddenStates = false, bool outputAttentions = false,
        bool logitsAtLabelledPositionsOnly = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        var (logits, loss) = MaskedLmHead.Run(cls, bert, o.LastHiddenState, labels, logitsAtLabelledPositionsOnly);
        return new MaskedLMOutput(logits, loss, o);
    }

    /// <summary>
    /// MLM logits [positions, vocab] at <paramref name="flatPositions"/> only (int64 [positions], indices into the
    /// [batch × seq] tokens, row-major). Fill-mask reads a few rows: the decoder over the vocabulary at every other position
    /// was most of its forward pass. The head works position by position, so each row is the one a full forward gives.
    /// </summary>
    internal Tensor LogitsAt(BertInput input, Tensor flatPositions)
    {
        var hidden = bert.Forward(input).LastHiddenState;
        using var flatHidden = hidden.reshape(-1, hidden.shape[^1]);
        using var gathered = flatHidden.index_select(0, flatPositions);
        return cls.Predictions(gathered, bert.WordEmbeddingWeight);
    }
}

/// <summary>The MLM head and its loss, over every position or (pre-training) only the labelled ones.</summary>
internal static class MaskedLmHead
{
    public static (Tensor Logits, Tensor? Loss) Run(BertClsHeads cls, BertModel bert, Tensor hidden, Tensor? labels, bool labelledOnly)
    {
        if (labels is not null)
        {
            // Float labels were cast to token ids without a word: 0.5 became token 0, a real target.
            Losses.RequireIntegers(labels, "labels", "integer token ids (Int64), -100 where nothing is predicted");
        }
        if (labelledOnly && labels is not null)
        {
            // The labelled positions index the hidden states: a label count that does not match would gather the wrong rows.
            if (labels.numel() != hidden.shape[0] * hidden.shape[1])
            {
                throw new BertSharpException(
                    Invariant($"labels: shape [{ShapeText.Join(labels.shape)}] holds {labels.numel()} labels; expected one per token of input_ids [{hidden.shape[0]}, {hidden.shape[1]}]."));
            }
            using var flatLabels = labels.reshape(-1);
            using var labelled = flatLabels.ne(StableScalars.Of(Losses.IgnoreIndex)).nonzero().squeeze(-1);
            using var flatHidden = hidden.reshape(-1, hidden.shape[^1]);
            using var gathered = flatHidden.index_select(0, labelled);
            using var gatheredLabels = flatLabels.index_select(0, labelled);
            var sparse = cls.Predictions(gathered, bert.WordEmbeddingWeight);
            return (sparse, Losses.CrossEntropy(sparse, gatheredLabels));
        }
        var logits = cls.Predictions(hidden, bert.WordEmbeddingWeight);
        return (logits, labels is null ? null : Losses.CrossEntropy(logits, labels));
    }
}

/// <summary>BERT with the NSP head only.</summary>
public sealed class BertForNextSentencePrediction : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly BertClsHeads cls;

    /// <summary>
    /// Builds the encoder with its pooler and the NSP head for <paramref name="config"/>, which the model keeps (not a
    /// copy). The weights are TorchSharp's default initialization (not HF's: <see cref="BertPretrained.Create"/>
    /// applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForNextSentencePrediction(BertConfig config) : base(nameof(BertForNextSentencePrediction), config)
    {
        bert = new BertModel(config);
        cls = new BertClsHeads(config, mlm: false, nsp: true);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <summary>Forward pass; logits [batch, 2] (0 = IsNext); <paramref name="labels"/> [batch].</summary>
    public ClassifierOutput Forward(BertInput input, Tensor? labels = null, bool outputHiddenStates = false, bool outputAttentions = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        var logits = cls.SeqRelationship(o.PoolerOutput!);
        return new ClassifierOutput(logits, labels is null ? null : Losses.CrossEntropy(logits, labels), o);
    }
}

/// <summary>
/// classifier(dropout(pooler_output)); loss chosen as HF does from <see cref="BertConfig.ProblemType"/> and the number of labels
/// (regression MSE, single-label CE, multi-label BCE).
/// </summary>
public sealed class BertForSequenceClassification : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    /// <summary>
    /// Builds the encoder with its pooler, dropout (<see cref="BertConfig.ClassifierDropout"/>, else
    /// <see cref="BertConfig.HiddenDropoutProb"/>) and a classifier [hidden → <see cref="BertConfig.NumLabels"/>] for
    /// <paramref name="config"/>, which the model keeps (not a copy). The weights are TorchSharp's default
    /// initialization (not HF's: <see cref="BertPretrained.Create"/> applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForSequenceClassification(BertConfig config) : base(nameof(BertForSequenceClassification), config)
    {
        bert = new BertModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <summary>
    /// Forward pass; logits [batch, num_labels]. <paramref name="labels"/>: int64 [batch] (classification), float [batch] or
    /// [batch, num_labels] (regression), float multi-hot [batch, num_labels] (multi-label).
    /// </summary>
    public ClassifierOutput Forward(BertInput input, Tensor? labels = null, bool outputHiddenStates = false, bool outputAttentions = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        using var d = ExampleDropout.Apply(dropout, o.PoolerOutput!);
        var logits = MixedPrecision.Linear(classifier, d);
        var loss = labels is null ? null : Losses.SequenceClassification(logits, labels, Config.NumLabels, Config.ProblemType).Loss;
        return new ClassifierOutput(logits, loss, o);
    }
}

/// <summary>classifier(dropout(last_hidden_state)) per token (no pooler, as HF builds it).</summary>
public sealed class BertForTokenClassification : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    /// <summary>
    /// Builds the encoder without a pooler, dropout (<see cref="BertConfig.ClassifierDropout"/>, else
    /// <see cref="BertConfig.HiddenDropoutProb"/>) and a per-token classifier [hidden →
    /// <see cref="BertConfig.NumLabels"/>] for <paramref name="config"/>, which the model keeps (not a copy). The
    /// weights are TorchSharp's default initialization (not HF's: <see cref="BertPretrained.Create"/> applies that, a
    /// load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForTokenClassification(BertConfig config) : base(nameof(BertForTokenClassification), config)
    {
        bert = new BertModel(config, addPoolingLayer: false);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <summary>Forward pass; logits [batch, seq, num_labels]; <paramref name="labels"/> [batch, seq] with -100 = ignore.</summary>
    public ClassifierOutput Forward(BertInput input, Tensor? labels = null, bool outputHiddenStates = false, bool outputAttentions = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        using var d = ExampleDropout.Apply(dropout, o.LastHiddenState);
        var logits = MixedPrecision.Linear(classifier, d);
        return new ClassifierOutput(logits, labels is null ? null : Losses.CrossEntropy(logits, labels), o);
    }
}

/// <summary>Extractive QA: qa_outputs(last_hidden_state) split into start and end logits (no pooler, as HF builds it).</summary>
public sealed class BertForQuestionAnswering : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly Linear qa_outputs;

    /// <summary>
    /// Builds the encoder without a pooler and <c>qa_outputs</c> [hidden → 2] (start, end) for
    /// <paramref name="config"/>, which the model keeps (not a copy). The weights are TorchSharp's default
    /// initialization (not HF's: <see cref="BertPretrained.Create"/> applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">
    /// the config is invalid (<see cref="BertConfig.Validate"/>), or its <see cref="BertConfig.NumLabels"/> is not 2.
    /// </exception>
    public BertForQuestionAnswering(BertConfig config) : base(nameof(BertForQuestionAnswering), config)
    {
        if (config.NumLabels != 2)
        {
            throw new BertSharpException(Invariant($"question answering needs num_labels 2 (start, end); the config has {config.NumLabels}."));
        }
        bert = new BertModel(config, addPoolingLayer: false);
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <summary>
    /// Forward pass; start/end logits [batch, seq]; positions [batch], as HF: a position ≥ seq is ignored by the loss, a negative
    /// one counts as position 0.
    /// </summary>
    public QuestionAnsweringOutput Forward(BertInput input, Tensor? startPositions = null, Tensor? endPositions = null,
        bool outputHiddenStates = false, bool outputAttentions = false)
    {
        var o = bert.Forward(input, outputHiddenStates, outputAttentions);
        using var logits = MixedPrecision.Linear(qa_outputs, o.LastHiddenState);
        var parts = logits.split(1, -1);
        var start = parts[0].squeeze(-1).contiguous();
        var end = parts[1].squeeze(-1).contiguous();
        foreach (var p in parts)
        {
            p.Dispose();
        }
        var loss = startPositions is not null && endPositions is not null
            ? Losses.QuestionAnswering(start, end, startPositions, endPositions)
            : null;
        return new QuestionAnsweringOutput(start, end, loss, o);
    }
}

/// <summary>
/// Multiple choice: inputs [batch, choices, seq] are flattened to [batch·choices, seq], classifier(dropout(pooled)) scores each
/// choice, logits [batch, choices].
/// </summary>
public sealed class BertForMultipleChoice : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    /// <summary>
    /// Builds the encoder with its pooler, dropout (<see cref="BertConfig.ClassifierDropout"/>, else
    /// <see cref="BertConfig.HiddenDropoutProb"/>) and a scorer [hidden → 1] for <paramref name="config"/>, which the
    /// model keeps (not a copy). The weights are TorchSharp's default initialization (not HF's:
    /// <see cref="BertPretrained.Create"/> applies that, a load replaces them).
    /// </summary>
    /// <exception cref="BertSharpException">the config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertForMultipleChoice(BertConfig config) : base(nameof(BertForMultipleChoice), config)
    {
        bert = new BertModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, 1);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override BertModel Bert => bert;

    /// <summary>Forward pass on [batch, choices, seq] inputs; <paramref name="labels"/> [batch] = index of the right choice.</summary>
    public ClassifierOutput Forward(BertInput input, Tensor? labels = null, bool outputHiddenStates = false, bool outputAttentions = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.InputIds is null)
        {
            throw new ArgumentException("input_ids is null; expected ids [batch, choices, seq].", nameof(input));
        }
        if (input.InputIds.dim() != 3)
        {
            throw new BertSharpException(
                $"multiple choice input_ids: expected shape [batch, choices, seq], got [{ShapeText.Join(input.InputIds.shape)}].");
        }
        var choices = input.InputIds.shape[1];
        // Reshaping [batch, 0, seq] or [batch, choices, 0] failed inside libtorch ("cannot reshape tensor of 0 elements").
        if (choices == 0 || input.InputIds.shape[2] == 0)
        {
            throw new BertSharpException(
                $"multiple choice input_ids: shape [{ShapeText.Join(input.InputIds.shape)}] has no {(choices == 0 ? "choices" : "tokens")}; expected at least one choice of at least one token.");
        }
        // Flattened first, a mask of the wrong shape was reported by BertModel in shapes the caller never passed ([6, 5]).
        SameShapeAsIds(input.AttentionMask, "attention_mask", input.InputIds);
        SameShapeAsIds(input.TokenTypeIds, "token_type_ids", input.InputIds);
        static Tensor? Flat(Tensor? t) => t?.reshape(-1, t.shape[^1]);
        var flat = new BertInput(Flat(input.InputIds)!, Flat(input.AttentionMask), Flat(input.TokenTypeIds), Flat(input.PositionIds));
        var o = bert.Forward(flat, outputHiddenStates, outputAttentions);
        using var d = ExampleDropout.Apply(dropout, o.PoolerOutput!);
        using var scores = MixedPrecision.Linear(classifier, d);
        var logits = scores.view(-1, choices);
        return new ClassifierOutput(logits, labels is null ? null : Losses.CrossEntropy(logits, labels), o);
    }

    private static void SameShapeAsIds(Tensor? t, string name, Tensor inputIds)
    {
        if (t is not null && !t.shape.SequenceEqual(inputIds.shape))
        {
            throw new BertSharpException(
                $"multiple choice {name}: shape [{ShapeText.Join(t.shape)}] differs from input_ids [{ShapeText.Join(inputIds.shape)}]; expected the same shape [batch, choices, seq].");
        }
    }
}

internal static class BertHeadKeys
{
    /// <summary>HF's tied MLM decoder: checkpoint alias → the parameter it is.</summary>
    public static readonly IReadOnlyDictionary<string, string> MlmTies = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["cls.predictions.decoder.weight"] = "bert.embeddings.word_embeddings.weight",
        ["cls.predictions.decoder.bias"] = "cls.predictions.bias",
    };
}
