using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// The task-specific part of <see cref="HeadFineTuner"/>: the data read and encoded, the model with its head, the loss
/// adapter, the collator and the validation metrics. Everything else (the loop, optimiser, log, output) is shared.
/// </summary>
internal abstract class HeadRecipe
{
    /// <summary>Training examples (sentences, questions) and the features they became (windows for QA).</summary>
    public abstract int TrainExamples { get; }

    /// <summary>Validation examples, 0 without validation data.</summary>
    public abstract int ValidationExamples { get; }

    /// <summary>Token count of every training feature.</summary>
    public abstract IReadOnlyList<int> Lengths { get; }

    /// <summary>What the plan shows as the labels.</summary>
    public abstract IReadOnlyList<string> LabelNames { get; }

    /// <summary>Training features cut at the maximum length.</summary>
    public abstract int Truncated { get; }

    /// <summary>The longest training feature in tokens before any cut, when the task counts it.</summary>
    public virtual int? Longest => null;

    /// <summary>Plan lines about the data.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Plan warnings about the data (what the readers left out).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>The metrics of <see cref="HeadFineTuner.MetricNames"/> that this run's validation reports (none without validation data).</summary>
    public abstract IReadOnlyList<string> ReportedMetrics { get; }

    /// <summary>The headline validation metric.</summary>
    public abstract string PrimaryMetric { get; }

    public abstract BertPreTrainedModel CreateModel(ModelSource source, out LoadReport? report);

    public abstract HeadTrainingTask Task(BertPreTrainedModel model, ICommunicator communicator, long? exampleDropoutSeed);

    /// <summary>The batch of the given training features, padded to at least <paramref name="minWidth"/> tokens.</summary>
    public abstract HeadBatch Collate(int[] indices, int minWidth, Device device);

    /// <summary>Validation metrics of the model (batched by length, or in file order), or null without validation data.</summary>
    public abstract MetricsReport? Evaluate(BertPreTrainedModel model, int batchSize, Device device, bool groupByLength);

    /// <summary>The task's settings for training_args.json.</summary>
    public abstract JsonObject Args();

    /// <summary>
    /// The model to fine-tune: from scratch (HF init from torch's global seed); the checkpoint itself when it already has
    /// this head (<paramref name="sameHead"/>); else the checkpoint's encoder under a newly initialised head, with the load
    /// report in head terms (the new head's weights missing, the checkpoint's other head tensors unused).
    /// </summary>
    protected static T Create<T>(ModelSource source, Action<BertConfig> configure, bool sameHead, out LoadReport? report) where T : BertPreTrainedModel
    {
        report = null;
        if (source.ModelDir is null)
        {
            var config = source.Config.Clone();
            configure(config);
            return BertPretrained.Create<T>(config);
        }
        if (sameHead)
        {
            var loaded = BertPretrained.Load<T>(source.ModelDir, out var r, configure);
            report = r;
            return loaded;
        }
        using var encoder = BertPretrained.Load<BertModel>(source.ModelDir, out var encoderReport);
        var headConfig = source.Config.Clone();
        configure(headConfig);
        var model = BertPretrained.Create<T>(headConfig);
        const string prefix = BertPreTrainedModel.BaseModelPrefix + ".";
        var target = model.Bert.NamedParameters().ToDictionary(p => p.Name, p => p.Param, StringComparer.Ordinal);
        report = encoderReport with
        {
            MissingKeys = [.. model.NamedParameters().Select(p => p.Name).Where(n => !n.StartsWith(prefix, StringComparison.Ordinal)),
                .. encoderReport.MissingKeys.Where(k => target.ContainsKey(k)).Select(k => prefix + k)],
        };
        using (torch.no_grad())
        {
            foreach (var (name, p) in encoder.NamedParameters())
            {
                if (target.TryGetValue(name, out var t))
                {
                    t.copy_(p);
                }
            }
        }
        return model;
    }

    /// <summary>The first <paramref name="limit"/> items, or all.</summary>
    protected static List<T> Take<T>(IReadOnlyList<T> items, int? limit) => [.. limit is { } n ? items.Take(n) : items];
}

/// <summary>Token classification (NER) on CoNLL / JSON-lines sentences.</summary>
internal sealed class TaggingRecipe : HeadRecipe
{
    private readonly HeadFineTuneOptions _o;
    private readonly BertTokenizer _tokenizer;
    private readonly List<TaggedSentence> _train;
    private readonly List<TaggedSentence>? _val;
    private readonly TaggedFeature[] _trainFeatures;
    private readonly TaggedFeature[]? _valFeatures;
    private readonly bool _checkpointHasTheseTags;

    public TaggingRecipe(HeadFineTuneOptions o, ModelSource source, int maxLength, bool validates)
    {
        _o = o;
        _tokenizer = source.Tokenizer;
        _train = Take(TaggedCorpus.Read(o.Training.DataPath, o.Labels, Warnings), o.Training.MaxTrainExamples);
        var evalPath = o.Training.ValidationFile(validates);
        _val = evalPath is null ? null : Take(TaggedCorpus.Read(evalPath, o.Labels, Warnings), o.Training.MaxEvalExamples);
        var tags = TaggedCorpus.Labels(_train, o.Labels, o.Training.DataPath);
        // A token classifier fine-tuned further keeps its tag order when the data have the same tags (and so its head).
        var checkpointTags = source.Config.Id2Label.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList();
        _checkpointHasTheseTags = source.ModelDir is not null && source.Config.Architectures?.FirstOrDefault() == nameof(BertForTokenClassification)
                                  && checkpointTags.Order(StringComparer.Ordinal).SequenceEqual(tags.Order(StringComparer.Ordinal));
        Tags = _checkpointHasTheseTags ? checkpointTags : tags;
        if (o.NerScheme is { } scheme)
        {
            // Every tag the model can predict and the validation data can hold is one of these: checked now, not after an epoch.
            SeqevalStrict.Check(Tags, scheme, o.Labels is null ? o.Training.DataPath : BertSharpException.Field("labels"));
        }
        _trainFeatures = [.. _train.Select(s => TokenLabelAlignment.Encode(_tokenizer, s, Tags, maxLength, o.LabelAllTokens is true, o.Training.DataPath))];
        _valFeatures = _val?.Select(s => TokenLabelAlignment.Encode(_tokenizer, s, Tags, maxLength, o.LabelAllTokens is true, evalPath!)).ToArray();
        Notes.Add(o.LabelAllTokens is true
            ? "labels: every word piece (B-X → I-X on continuation pieces)"
            : "labels: the first word piece of each word (the others are ignored by the loss, -100)");
        // ExampleEncoder.CountTruncated's rule, longer than the maximum length: a sentence that lost only its last word's later
        // pieces has no word cut off (WordStarts without -1), and was left out of the warning. The warning is the plan's one
        // word on cut sentences: a note of its own ('N training sentence(s) longer than …') said it again with another count.
        Truncated = _trainFeatures.Count(f => f.UncutLength > maxLength);
        Longest = _trainFeatures.Select(f => f.UncutLength).DefaultIfEmpty(0).Max();
        if (_val is null)
        {
            Notes.Add("validation: none (give eval_data for seqeval precision / recall / F1 per epoch)");
        }
        else if (o.NerScheme is { } strict)
        {
            Notes.Add($"validation: seqeval's strict mode, {strict} scheme (an entity counts only as a whole chunk of the scheme)");
        }
    }

    public IReadOnlyList<string> Tags { get; }

    public override int TrainExamples => _train.Count;

    public override int ValidationExamples => _val?.Count ?? 0;

    public override IReadOnlyList<int> Lengths => [.. _trainFeatures.Select(f => f.Length)];

    public override IReadOnlyList<string> LabelNames => Tags;

    public override int Truncated { get; }

    public override int? Longest { get; }

    public override IReadOnlyList<string> ReportedMetrics => _val is null ? [] : HeadFineTuner.TokenClassificationMetricNames;

    public override string PrimaryMetric => "f1";

    public override BertPreTrainedModel CreateModel(ModelSource source, out LoadReport? report) =>
        Create<BertForTokenClassification>(source,
            c => c.Id2Label = new SortedDictionary<int, string>(Tags.Select((t, i) => (t, i)).ToDictionary(x => x.i, x => x.t)),
            _checkpointHasTheseTags, out report);

    public override HeadTrainingTask Task(BertPreTrainedModel model, ICommunicator communicator, long? exampleDropoutSeed) =>
        HeadTrainingTask.TokenClassification((BertForTokenClassification)model, communicator, exampleDropoutSeed, _o.Training.LabelSmoothing);

    public override HeadBatch Collate(int[] indices, int minWidth, Device device) => HeadCollate.Tagged(_trainFeatures, indices, _tokenizer.PadId, device, minWidth);

    public override MetricsReport? Evaluate(BertPreTrainedModel model, int batchSize, Device device, bool groupByLength)
    {
        if (_val is null)
        {
            return null;
        }
        var e = HeadEvaluation.Tagging((BertForTokenClassification)model, _val, _valFeatures!, Tags, batchSize, _tokenizer.PadId, device, _o.NerScheme,
            _o.Training.LabelSmoothing, groupByLength);
        return MetricsReport.ForTagging(e, _val.Count);
    }

    public override JsonObject Args()
    {
        var args = new JsonObject
        {
            ["label_all_tokens"] = _o.LabelAllTokens is true,
            ["labels"] = new JsonArray([.. Tags.Select(t => (JsonNode)t)]),
        };
        // Only when strict: a checkpoint of the default mode, written before the mode was recorded, resumes as it did.
        if (_o.NerScheme is { } scheme)
        {
            args[SeqevalMode.ModeKey] = "strict";
            args[SeqevalMode.SchemeKey] = scheme.ToString();
        }
        return args;
    }
}

/// <summary>Extractive QA on SQuAD v1.1 / v2.0.</summary>
internal sealed class QaRecipe : HeadRecipe
{
    private readonly HeadFineTuneOptions _o;
    private readonly BertTokenizer _tokenizer;
    private readonly int _maxLength;
    private readonly SquadDataset _train;
    private readonly SquadDataset? _val;
    private readonly List<QaFeature> _features;

    public QaRecipe(HeadFineTuneOptions o, ModelSource source, int maxLength, bool validates)
    {
        _o = o;
        _tokenizer = source.Tokenizer;
        _maxLength = maxLength;
        var train = SquadData.Read(o.Training.DataPath);
        _train = train with { Examples = Take(train.Examples, o.Training.MaxTrainExamples) };
        if (o.Training.ValidationFile(validates) is { } evalPath)
        {
            var val = SquadData.Read(evalPath);
            _val = val with { Examples = Take(val.Examples, o.Training.MaxEvalExamples) };
        }
        _features = SquadData.TrainingFeatures(_tokenizer, _train.Examples, maxLength, o.EffectiveDocStride);
        var outside = _features.Count(f => f.StartPosition == 0 && !_train.Examples[f.Example].IsImpossible);
        Notes.Add(string.Create(CultureInfo.InvariantCulture, $"SQuAD {(_train.Version2 ? "v2.0" : "v1.1")}: {_train.Examples.Count:N0} question{S(_train.Examples.Count)} → {_features.Count:N0} window{S(_features.Count)} of {maxLength} tokens (doc stride {o.EffectiveDocStride}{(o.EffectiveDocStride > (maxLength - 4) / 2 ? Invariant($", capped at half of each window's context: at most {(maxLength - 4) / 2}") : "")}); " +
                  $"{outside:N0} window{S(outside)} without the answer {(outside == 1 ? "learns" : "learn")} to point at [CLS]"));
        Notes.Add(_val is null
            ? "validation: none (give eval_data for exact match and F1 per epoch)"
            : _val.Version2 ? Invariant($"validation: SQuAD v2.0, no answer when ln P(null) − ln P(best span) > {o.EffectiveNullScoreDiffThreshold} (null_score_diff_threshold)") : "validation: SQuAD v1.1");
    }

    /// <summary>The plural ending of a count's noun: "1 question", "2 questions" (the plan said "1 questions → 1 windows").</summary>
    private static string S(int count) => count == 1 ? "" : "s";

    public override int TrainExamples => _features.Count;

    public override int ValidationExamples => _val?.Examples.Count ?? 0;

    public override IReadOnlyList<int> Lengths => [.. _features.Select(f => f.Encoding.Length)];

    public override IReadOnlyList<string> LabelNames => ["answer start", "answer end"];

    public override int Truncated => 0;

    public override IReadOnlyList<string> ReportedMetrics => _val is null ? []
        : !_val.Version2 ? HeadFineTuner.QuestionAnsweringMetricNames
        // As QaEvaluation.Values leaves out the scores of a kind of question the data do not have.
        : [.. HeadFineTuner.QuestionAnsweringMetricNames, .. HeadFineTuner.SquadV2MetricNames.Where(m =>
            m.StartsWith("HasAns_", StringComparison.Ordinal) ? _val.Examples.Any(e => !e.IsImpossible)
            : !m.StartsWith("NoAns_", StringComparison.Ordinal) || _val.Examples.Any(e => e.IsImpossible))];

    public override string PrimaryMetric => "f1";

    public override BertPreTrainedModel CreateModel(ModelSource source, out LoadReport? report) =>
        Create<BertForQuestionAnswering>(source, c => c.NumLabels = 2,
            source.Config.Architectures?.FirstOrDefault() == nameof(BertForQuestionAnswering), out report);

    public override HeadTrainingTask Task(BertPreTrainedModel model, ICommunicator communicator, long? exampleDropoutSeed) =>
        HeadTrainingTask.QuestionAnswering((BertForQuestionAnswering)model, communicator, exampleDropoutSeed);

    public override HeadBatch Collate(int[] indices, int minWidth, Device device) => HeadCollate.Windows(_features, indices, _tokenizer.PadId, device, minWidth);

    public override MetricsReport? Evaluate(BertPreTrainedModel model, int batchSize, Device device, bool groupByLength)
    {
        if (_val is null)
        {
            return null;
        }
        var e = HeadEvaluation.QuestionAnswering((BertForQuestionAnswering)model, _tokenizer, _val, _maxLength, _o.EffectiveDocStride, _o.EffectiveMaxAnswerLength,
            _o.EffectiveNullScoreDiffThreshold, batchSize, device, groupByLength);
        return MetricsReport.FromValues([], _val.Examples.Count, e.Values());
    }

    public override JsonObject Args() => new()
    {
        ["doc_stride"] = _o.EffectiveDocStride,
        ["max_answer_length"] = _o.EffectiveMaxAnswerLength,
        ["null_score_diff_threshold"] = _o.EffectiveNullScoreDiffThreshold,
        ["version_2_with_negative"] = _train.Version2,
    };
}

/// <summary>Multiple choice on SWAG-style data.</summary>
internal sealed class ChoiceRecipe : HeadRecipe
{
    private readonly BertTokenizer _tokenizer;
    private readonly ChoiceFeature[] _train;
    private readonly ChoiceFeature[]? _val;
    private readonly double _labelSmoothing;

    public ChoiceRecipe(HeadFineTuneOptions o, ModelSource source, int maxLength, bool validates)
    {
        _labelSmoothing = o.Training.LabelSmoothing;
        // Below it every choice trains as [CLS] [SEP] [SEP]: the head would learn from no text at all.
        PairLength.Check(maxLength);
        _tokenizer = source.Tokenizer;
        var train = Take(SwagData.Read(o.Training.DataPath), o.Training.MaxTrainExamples);
        _train = [.. train.Select(e => SwagData.Encode(_tokenizer, e, maxLength))];
        (Truncated, Longest) = SwagData.CountTruncated(_tokenizer, train, _train, maxLength);
        var evalPath = o.Training.ValidationFile(validates);
        _val = evalPath is null ? null : [.. Take(SwagData.Read(evalPath), o.Training.MaxEvalExamples).Select(e => SwagData.Encode(_tokenizer, e, maxLength))];
        Choices = _train[0].Choices.Count;
        if (_val is not null && _val[0].Choices.Count != Choices)
        {
            throw new BertSharpException(Invariant($"{evalPath}: {_val[0].Choices.Count} endings per question; the training data have {Choices}."));
        }
        Notes.Add(Invariant($"multiple choice: {Choices} endings per question, each scored as the pair (sent1, sent2 + ending)"));
        if (_val is null)
        {
            Notes.Add("validation: none (give eval_data for accuracy per epoch)");
        }
    }

    public int Choices { get; }

    public override int TrainExamples => _train.Length;

    public override int ValidationExamples => _val?.Length ?? 0;

    public override IReadOnlyList<int> Lengths => [.. _train.Select(f => f.Length)];

    public override IReadOnlyList<string> LabelNames => [.. Enumerable.Range(0, Choices).Select(i => Invariant($"ending{i}"))];

    public override int Truncated { get; }

    public override int? Longest { get; }

    public override IReadOnlyList<string> ReportedMetrics => _val is null ? [] : HeadFineTuner.MultipleChoiceMetricNames;

    public override string PrimaryMetric => "accuracy";

    public override BertPreTrainedModel CreateModel(ModelSource source, out LoadReport? report) =>
        Create<BertForMultipleChoice>(source, _ => { }, source.Config.Architectures?.FirstOrDefault() == nameof(BertForMultipleChoice), out report);

    public override HeadTrainingTask Task(BertPreTrainedModel model, ICommunicator communicator, long? exampleDropoutSeed) =>
        HeadTrainingTask.MultipleChoice((BertForMultipleChoice)model, communicator, exampleDropoutSeed, _labelSmoothing);

    public override HeadBatch Collate(int[] indices, int minWidth, Device device) => HeadCollate.Choices(_train, indices, _tokenizer.PadId, device, minWidth);

    public override MetricsReport? Evaluate(BertPreTrainedModel model, int batchSize, Device device, bool groupByLength)
    {
        if (_val is null)
        {
            return null;
        }
        var e = HeadEvaluation.MultipleChoice((BertForMultipleChoice)model, _val, batchSize, _tokenizer.PadId, device, _labelSmoothing, groupByLength);
        return MetricsReport.FromValues([], _val.Length, e.Values());
    }

    public override JsonObject Args() => new() { ["choices"] = Choices };
}
