using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Inference;

/// <summary>Where a fine-tuning starts: a checkpoint directory, or a size preset and a vocabulary.</summary>
/// <param name="Config">The model configuration (labels not yet set).</param>
/// <param name="ConfigOrigin">Where the config came from, for messages (a config.json path or "preset mini").</param>
/// <param name="ModelDir">The checkpoint directory, or null when training from scratch.</param>
/// <param name="Tokenizer">The tokenizer.</param>
public sealed record ModelSource(BertConfig Config, string ConfigOrigin, string? ModelDir, BertTokenizer Tokenizer)
{
    /// <summary>Whether and why the tokenizer lower-cases (shown in the run's plan).</summary>
    public LowercaseDecision? Lowercasing { get; init; }

    /// <summary>
    /// The length to fine-tune at (<see cref="ModelLength"/>): --max-length, else the task's default bounded by the
    /// checkpoint's trained length. A model from scratch has no trained positions yet; its bound is max_position_embeddings.
    /// </summary>
    public ResolvedLength Length(int? requested, int taskDefault) =>
        ModelDir is null
            ? ModelLength.Resolve(Config.MaxPositionEmbeddings, Config.MaxPositionEmbeddings, requested, ConfigOrigin, taskDefault)
            : ModelLength.Resolve(Config, Tokenizer, requested, ModelDir, taskDefault);

    /// <summary>
    /// The tokenizer to save with the fine-tuned model: its model_max_length is the trained length, the longer of the
    /// checkpoint's and this run's (a model from scratch: this run's).
    /// </summary>
    public BertTokenizer TokenizerTrainedTo(int runLength) =>
        Tokenizer.WithModelMaxLength(ModelDir is null ? runLength : Math.Max(runLength, ModelLength.Trained(Config, Tokenizer)));
}

/// <summary>
/// Builds, loads and saves BERT sequence classifiers as HF checkpoint directories: config.json with <c>id2label</c>,
/// <c>label2id</c> and <c>problem_type</c>, model.safetensors, and the tokenizer files.
/// </summary>
public static class ClassifierCheckpoint
{
    /// <summary>Reads the config and tokenizer a fine-tuning starts from (cheap: no weights yet).</summary>
    /// <param name="modelDir">A checkpoint directory or Hub id; null to start from <paramref name="configPreset"/>.</param>
    /// <param name="configPreset">A size preset or config.json file for a model trained from scratch (with <paramref name="vocabPath"/>).</param>
    /// <param name="vocabPath">The WordPiece vocab.txt of a model trained from scratch.</param>
    /// <param name="lowercase">Lower-case input for a model trained from scratch; null follows <see cref="LowercaseRule"/>.</param>
    public static ModelSource Describe(string? modelDir, string? configPreset, string? vocabPath, bool? lowercase)
    {
        if (modelDir is { } idOrDir)
        {
            // A local directory, or a Hub id (served from the HF cache, downloaded when absent).
            var dir = BertPretrained.ResolveDirectory(idOrDir);
            return TypedModelNames.Load(idOrDir, dir, () =>
            {
                var configPath = Path.Combine(dir, "config.json");
                var checkpointConfig = BertConfig.Load(configPath);
                // The origin messages name: the config.json of the id typed, not of the snapshot it resolved to.
                return new ModelSource(checkpointConfig, TypedModelNames.Named(idOrDir, dir, configPath), dir, BertPretrained.LoadTokenizer(dir, checkpointConfig))
                {
                    Lowercasing = LowercaseRule.Resolve(dir, null),
                };
            });
        }
        if (configPreset is null || vocabPath is null)
        {
            throw new ArgumentException("a model trained from scratch needs a config preset and a vocabulary", nameof(configPreset));
        }
        if (!File.Exists(vocabPath))
        {
            throw new BertSharpException($"{vocabPath}: vocabulary file not found.");
        }
        var vocab = Vocabulary.Load(vocabPath);
        var decision = LowercaseRule.Resolve(vocabPath, lowercase);
        var config = BertConfig.FromPresetOrFile(configPreset);
        config.VocabSize = vocab.Count;
        var tokenizer = new BertTokenizer(vocab, new NormalizerOptions(Lowercase: decision.Lowercase));
        config.PadTokenId = tokenizer.PadId >= 0 ? tokenizer.PadId : 0;
        var origin = BertConfig.PresetNames.Contains(configPreset.Trim().ToLowerInvariant()) ? $"preset {configPreset}" : configPreset;
        return new ModelSource(config, origin, null, tokenizer) { Lowercasing = decision };
    }

    /// <summary>
    /// The classifier to fine-tune with <paramref name="labels"/>: from scratch (HF init, from torch's global seed), or the
    /// checkpoint's weights. A checkpoint with a classification head of another size keeps only its encoder, as does a
    /// pre-training or base-model checkpoint; the new head is initialised. A head of as many outputs is kept whatever its
    /// config.json's problem_type, and trained further with <paramref name="labels"/>' (the loss follows it).
    /// </summary>
    public static (BertForSequenceClassification Model, BertTokenizer Tokenizer) CreateForFineTuning(ModelSource source, LabelMap labels) =>
        CreateForFineTuning(source, labels, out _);

    /// <summary>
    /// As <see cref="CreateForFineTuning(ModelSource, LabelMap)"/>, with the load report of the checkpoint in classifier terms
    /// (the newly initialised head, the checkpoint's unused head tensors); null for a model from scratch.
    /// </summary>
    public static (BertForSequenceClassification Model, BertTokenizer Tokenizer) CreateForFineTuning(ModelSource source, LabelMap labels,
        out LoadReport? report)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(labels);
        report = null;
        if (source.ModelDir is null)
        {
            return (BertPretrained.Create<BertForSequenceClassification>(FineTuningConfig(source, labels)), source.Tokenizer);
        }
        if (KeepsHead(source, labels))
        {
            var loaded = BertPretrained.Load<BertForSequenceClassification>(source.ModelDir, out var sameReport, c => ApplyLabels(c, labels));
            report = sameReport;
            return (loaded, source.Tokenizer);
        }
        // The encoder first: its load checks the config against the checkpoint's headers before anything is allocated.
        using var encoder = BertPretrained.Load<BertModel>(source.ModelDir, out var encoderReport);
        var model = BertPretrained.Create<BertForSequenceClassification>(FineTuningConfig(source, labels));
        const string prefix = BertPreTrainedModel.BaseModelPrefix + ".";
        report = encoderReport with
        {
            MissingKeys = [.. model.NamedParameters().Select(p => p.Name).Where(n => !n.StartsWith(prefix, StringComparison.Ordinal)),
                .. encoderReport.MissingKeys.Select(k => prefix + k)],
        };
        using (torch.no_grad())
        {
            var target = model.Bert.NamedParameters().ToDictionary(p => p.Name, p => p.Param, StringComparer.Ordinal);
            foreach (var (name, p) in encoder.NamedParameters())
            {
                if (target.TryGetValue(name, out var t))
                {
                    t.copy_(p);
                }
            }
        }
        return (model, source.Tokenizer);
    }

    /// <summary>The config of the classifier <see cref="CreateForFineTuning(ModelSource, LabelMap, out LoadReport?)"/> builds: the source's, with <paramref name="labels"/>.</summary>
    internal static BertConfig FineTuningConfig(ModelSource source, LabelMap labels)
    {
        var config = source.Config.Clone();
        ApplyLabels(config, labels);
        return config;
    }

    /// <summary>
    /// The classes a fine-tuning of the data's <paramref name="labels"/> (read from <paramref name="train"/>) trains when it
    /// continues <paramref name="source"/>: the single-label classifier's own where its head can read the data
    /// (<see cref="LabelMap.ContinuingFrom"/>), else <paramref name="labels"/>. <paramref name="note"/> says how a head kept
    /// for as many classes learns them when the names do not tell (other names, or two classes of one name), and how its
    /// loss changes when its problem_type is not the data's (a multi-label checkpoint trained on single-label data), else is null.
    /// </summary>
    internal static LabelMap ContinuedLabels(ModelSource source, LabelMap labels, TextDataset train, TaskSpec task, out string? note)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(labels);
        var map = ContinuedClasses(source, labels, train, task, out note);
        if (ProblemTypeChange(source, map) is { } change)
        {
            note = note is null ? change : note + " " + change;
        }
        return map;
    }

    private static LabelMap ContinuedClasses(ModelSource source, LabelMap labels, TextDataset train, TaskSpec task, out string? note)
    {
        note = null;
        if (!ContinuesClassifier(source))
        {
            return labels;
        }
        var c = source.Config;
        var names = c.Id2Label.Values.ToList();
        if (ClassNames.Fault(names, unnamedAllowed: true) is { Repeated: true } fault)
        {
            // LabelMap refuses such names, and no label of the data can be matched to a class by name; the head is still
            // kept when its size fits (CreateForFineTuning), which went unsaid.
            if (!labels.IsRegression && labels.NumLabels == c.NumLabels)
            {
                note = $"{source.ConfigOrigin}: field 'id2label' names two classes alike ({fault.What}), so no label can be matched to its class " +
                       $"by name; {labels.KeptHeadOrder(names)}";
            }
            return labels;
        }
        // Read as single-label classes: a multi-label head's output i still answers for class i, so data of its names keep
        // its order, and this run trains one class per example whatever the checkpoint's loss was (ProblemTypeChange says so).
        return labels.ContinuingFrom(LabelMap.FromConfig(c.Id2Label, c.NumLabels, problemType: null), train, task, source.ConfigOrigin, out note);
    }

    // A sequence classifier's checkpoint of classes, single- or multi-label: its id2label names the classes its head learnt
    // (a regression model's, or any other checkpoint's, heads nothing).
    private static bool ContinuesClassifier(ModelSource source) =>
        source.ModelDir is not null && source.Config.Architectures?.FirstOrDefault() == nameof(BertForSequenceClassification)
        && source.Config.ProblemType is (null or "single_label_classification" or "multi_label_classification") && source.Config.NumLabels >= 2;

    // CreateForFineTuning keeps the checkpoint's head when its size fits, as HF's from_pretrained keeps any weight of the
    // same shape: a class's output weights are a start whatever loss trained them (a sigmoid's logits rank the classes as a
    // softmax's do), and a new head would drop them where differently named classes keep theirs.
    private static bool KeepsHead(ModelSource source, LabelMap labels) =>
        source.ModelDir is not null && source.Config.Architectures?.FirstOrDefault() == nameof(BertForSequenceClassification)
        && source.Config.NumLabels == labels.NumLabels;

    // The loss follows the data's problem type, not config.json's (HF: problem_type drives the loss), so a kept head whose
    // problem_type differs is trained to mean something else, which went unsaid. A config without problem_type takes HF's
    // rule for it (regression for one output, else one class per example), the data's own for a head of that size.
    private static string? ProblemTypeChange(ModelSource source, LabelMap labels) =>
        KeepsHead(source, labels) && source.Config.ProblemType is { } was && was != labels.ProblemType
            ? $"{source.ConfigOrigin}: field 'problem_type' is {was} ({Loss(was)}); its head is kept for as many outputs and trained " +
              $"further as {labels.ProblemType} ({Loss(labels.ProblemType)}), so what each output means changes."
            : null;

    private static string Loss(string problemType) => problemType switch
    {
        "regression" => "a number per output: mean squared error",
        "multi_label_classification" => "a yes or no per label: sigmoid, binary cross-entropy",
        _ => "one class per example: softmax, cross-entropy",
    };

    /// <summary>Loads a fine-tuned classifier directory for evaluation or prediction.</summary>
    public static (BertForSequenceClassification Model, BertTokenizer Tokenizer, LabelMap Labels) Load(string idOrDir)
    {
        var config = BertPretrained.LoadConfig(idOrDir, out var dir);
        return Load(dir, config);
    }

    /// <summary>
    /// As <see cref="Load(string)"/> from the config a caller has already read from the model directory <paramref name="dir"/>
    /// (to pick the class to load): the file is not parsed again, and the model keeps <paramref name="config"/>.
    /// </summary>
    internal static (BertForSequenceClassification Model, BertTokenizer Tokenizer, LabelMap Labels) Load(string dir, BertConfig config)
    {
        RequiredWeights.CheckArchitecture(config, nameof(BertForSequenceClassification), dir);
        LabelMap labels;
        try
        {
            labels = LabelMap.FromConfig(config.Id2Label, config.NumLabels, config.ProblemType);
        }
        catch (BertSharpException e)
        {
            // LabelMap names the field but not the file, which the user has to learn.
            throw new BertSharpException($"{Path.Combine(dir, "config.json")}: {e.Message}", e);
        }
        var tokenizer = BertPretrained.LoadTokenizer(dir, config);
        var model = BertPretrained.Load<BertForSequenceClassification>(dir, config, out var report);
        try
        {
            if (report.MissingKeys.Count > 0)
            {
                throw new BertSharpException(
                    $"{dir}: the checkpoint lacks {string.Join(", ", report.MissingKeys.Take(3))}{(report.MissingKeys.Count > 3 ? ", …" : "")}; it is not a trained sequence classifier (fine-tune it first with FineTuner).");
            }
            RequiredWeights.CheckEncoder(report, dir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return (model, tokenizer, labels);
    }

    /// <summary>
    /// Writes config.json (with the labels), model.safetensors and the tokenizer files into the existing directory
    /// <paramref name="dir"/> (a staging directory that the caller publishes atomically, with the other files of its run).
    /// </summary>
    public static void WriteFiles(string dir, BertForSequenceClassification model, BertTokenizer tokenizer, LabelMap labels)
    {
        ArgumentNullException.ThrowIfNull(model);
        ApplyLabels(model.Config, labels);
        BertPretrained.WriteFiles(model, dir, new SaveOptions(Tokenizer: tokenizer));
    }

    /// <summary>Whether a vocabulary is uncased: no token outside the bracketed specials has an upper-case letter.</summary>
    public static bool LooksUncased(Vocabulary vocab) => LowercaseRule.LooksUncased(vocab);

    private static void ApplyLabels(BertConfig config, LabelMap labels)
    {
        config.Id2Label = new SortedDictionary<int, string>(labels.Id2Label.ToDictionary(kv => kv.Key, kv => kv.Value));
        config.ProblemType = labels.ProblemType;
    }
}
