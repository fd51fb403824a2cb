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
public sealed record ModelSource(BertConfig Config, string ConfigOrigin, string? ModelDir, BertTokenizer Tokenizer);

/// <summary>
/// Builds, loads and saves BERT sequence classifiers as HF checkpoint directories: config.json with <c>id2label</c>,
/// <c>label2id</c> and <c>problem_type</c>, model.safetensors, and the tokenizer files.
/// </summary>
public static class ClassifierCheckpoint
{
    /// <summary>Reads the config and tokenizer a fine-tuning starts from (cheap: no weights yet).</summary>
    /// <param name="modelDir">A checkpoint directory or Hub id; null to start from <paramref name="configPreset"/>.</param>
    /// <param name="configPreset">A size preset for a model trained from scratch (with <paramref name="vocabPath"/>).</param>
    /// <param name="vocabPath">The WordPiece vocab.txt of a model trained from scratch.</param>
    /// <param name="lowercase">Lower-case input for a model trained from scratch; null guesses from the vocabulary.</param>
    public static ModelSource Describe(string? modelDir, string? configPreset, string? vocabPath, bool? lowercase)
    {
        if (modelDir is { } idOrDir)
        {
            // A local directory, or a Hub id (served from the HF cache, downloaded when absent).
            var dir = BertPretrained.ResolveDirectory(idOrDir);
            var configPath = Path.Combine(dir, "config.json");
            return new ModelSource(BertConfig.Load(configPath), configPath, dir, BertTokenizer.FromDirectory(dir));
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
        var config = BertConfig.Preset(configPreset);
        config.VocabSize = vocab.Count;
        var tokenizer = new BertTokenizer(vocab, new NormalizerOptions(Lowercase: lowercase ?? LooksUncased(vocab)), modelMaxLength: config.MaxPositionEmbeddings);
        config.PadTokenId = tokenizer.PadId >= 0 ? tokenizer.PadId : 0;
        return new ModelSource(config, $"preset {configPreset}", null, tokenizer);
    }

    /// <summary>
    /// The classifier to fine-tune with <paramref name="labels"/>: from scratch (HF init, from torch's global seed), or the
    /// checkpoint's weights. A checkpoint with a classification head of another size keeps only its encoder, as does a
    /// pre-training or base-model checkpoint; the new head is initialised.
    /// </summary>
    public static (BertForSequenceClassification Model, BertTokenizer Tokenizer) CreateForFineTuning(ModelSource source, LabelMap labels)
    {
        if (source.ModelDir is null)
        {
            var config = source.Config.Clone();
            ApplyLabels(config, labels);
            return (BertPretrained.Create<BertForSequenceClassification>(config), source.Tokenizer);
        }
        var sameHead = source.Config.Architectures?.FirstOrDefault() == nameof(BertForSequenceClassification)
                       && source.Config.NumLabels == labels.NumLabels;
        if (sameHead)
        {
            return (BertPretrained.Load<BertForSequenceClassification>(source.ModelDir, c => ApplyLabels(c, labels)), source.Tokenizer);
        }
        var headConfig = source.Config.Clone();
        ApplyLabels(headConfig, labels);
        var model = BertPretrained.Create<BertForSequenceClassification>(headConfig);
        using var encoder = BertPretrained.Load<BertModel>(source.ModelDir);
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

    /// <summary>Loads a fine-tuned classifier directory for evaluation or prediction.</summary>
    public static (BertForSequenceClassification Model, BertTokenizer Tokenizer, LabelMap Labels) Load(string idOrDir)
    {
        var dir = BertPretrained.ResolveDirectory(idOrDir);
        var config = BertConfig.Load(Path.Combine(dir, "config.json"));
        if (config.Architectures is { Count: > 0 } arch && !arch.Contains(nameof(BertForSequenceClassification)))
        {
            throw new BertSharpException(
                $"{Path.Combine(dir, "config.json")}: architectures is {string.Join(", ", arch)}; expected BertForSequenceClassification (fine-tune it first with 'bert finetune').");
        }
        var labels = LabelMap.FromConfig(config.Id2Label, config.NumLabels, config.ProblemType);
        var tokenizer = BertTokenizer.FromDirectory(dir);
        var model = BertPretrained.Load<BertForSequenceClassification>(dir, out var report);
        if (report.MissingKeys.Count > 0)
        {
            model.Dispose();
            throw new BertSharpException(
                $"{dir}: the checkpoint lacks {string.Join(", ", report.MissingKeys.Take(3))}{(report.MissingKeys.Count > 3 ? ", …" : "")}; it is not a trained sequence classifier (fine-tune it first with 'bert finetune').");
        }
        return (model, tokenizer, labels);
    }

    /// <summary>
    /// Writes config.json, model.safetensors and the tokenizer files into the existing directory <paramref name="dir"/>
    /// (the caller's temporary output directory, which other files of the run already live in).
    /// </summary>
    public static void SaveInto(string dir, BertForSequenceClassification model, BertTokenizer tokenizer, LabelMap labels)
    {
        ApplyLabels(model.Config, labels);
        var staging = Path.Combine(dir, ".checkpoint");
        BertPretrained.Save(model, staging, new SaveOptions(Tokenizer: tokenizer));
        foreach (var f in Directory.GetFiles(staging))
        {
            File.Move(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
        }
        Directory.Delete(staging, recursive: true);
    }

    /// <summary>Whether a vocabulary is uncased: no token outside the bracketed specials has an upper-case letter.</summary>
    public static bool LooksUncased(Vocabulary vocab) =>
        !vocab.Tokens.Any(t => !(t.StartsWith('[') && t.EndsWith(']')) && t.Any(char.IsUpper));

    private static void ApplyLabels(BertConfig config, LabelMap labels)
    {
        config.Id2Label = new SortedDictionary<int, string>(labels.Id2Label.ToDictionary(kv => kv.Key, kv => kv.Value));
        config.ProblemType = labels.ProblemType;
    }
}
