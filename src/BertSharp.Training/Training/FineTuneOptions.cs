using BertSharp.Data;
using BertSharp.Tokenization;

namespace BertSharp.Training;

/// <summary>
/// Everything <see cref="FineTuner"/> needs. Null numeric options take the task's tutorial default (batch 32 / 16 for IMDb,
/// epochs 4 / 2, max length 128 / 512 bounded by the model's trained length); the rest default to the BERT paper / tutorial values.
/// </summary>
public sealed record FineTuneOptions
{
    /// <summary>Task (format, columns, labels, defaults).</summary>
    public required TaskSpec Task { get; init; }

    /// <summary>Training data file.</summary>
    public required string DataPath { get; init; }

    /// <summary>Validation data file; when null a part of the training data is held out (<see cref="ValSize"/>).</summary>
    public string? EvalDataPath { get; init; }

    /// <summary>Output directory (an HF checkpoint directory, written atomically at the end).</summary>
    public required string OutputDir { get; init; }

    /// <summary>HF checkpoint directory to start from; null to train from scratch with <see cref="ConfigPreset"/>.</summary>
    public string? ModelDir { get; init; }

    /// <summary>Size preset (tiny, mini, small, medium, base, large) or config.json file for a model trained from scratch.</summary>
    public string? ConfigPreset { get; init; }

    /// <summary>WordPiece vocab.txt for a model trained from scratch.</summary>
    public string? VocabPath { get; init; }

    /// <summary>Lower-case input for a model trained from scratch; null = <see cref="Tokenization.LowercaseRule"/> (tokenizer config, else the vocab).</summary>
    public bool? Lowercase { get; init; }

    public int? Epochs { get; init; }

    public int? BatchSize { get; init; }

    /// <summary>Peak learning rate of AdamW (<see cref="DefaultLearningRate"/>).</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>AdamW epsilon (<see cref="DefaultEps"/>).</summary>
    public double Eps { get; init; } = DefaultEps;

    /// <summary>Decoupled weight decay, not on biases and LayerNorm weights (<see cref="DefaultWeightDecay"/>).</summary>
    public double WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>Warmup as a fraction of all optimizer steps (exclusive with <see cref="WarmupSteps"/>; default 0).</summary>
    public double? WarmupRatio { get; init; }

    /// <summary>Warmup in optimizer steps.</summary>
    public int? WarmupSteps { get; init; }

    public int? MaxLength { get; init; }

    /// <summary>
    /// Which word pieces a text longer than the maximum length keeps: its start (head, the default), its end (tail) or both
    /// (head+tail, Sun et al. 2019); saved in training_args.json, so evaluation and prediction cut texts the same way.
    /// </summary>
    public TruncationSide TruncationSide { get; init; } = TruncationSide.Head;

    /// <summary>With head+tail: word pieces kept from the start; null = round(kept · 128 / 510) (Sun et al.: 128 of 510).</summary>
    public int? HeadTokens { get; init; }

    /// <summary>
    /// What the classifier reads (<see cref="BertSharp.Modeling.BertConfig.ClassifierPooling"/>, saved in config.json): <c>cls</c>
    /// (the [CLS] token, HF's BERT) or <c>mean</c> (the masked mean of the last hidden state, what sentence-transformers models
    /// were trained with); null keeps the model's setting (cls when it has none).
    /// </summary>
    public string? Pooling { get; init; }

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;

    /// <summary>Global gradient-norm clip; 0 or less disables clipping (<see cref="DefaultMaxGradNorm"/>).</summary>
    public double MaxGradNorm { get; init; } = DefaultMaxGradNorm;

    /// <summary>Seed of initialisation, dropout, shuffling and the split (<see cref="DefaultSeed"/>).</summary>
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>Use only the first N training examples (after the split).</summary>
    public int? MaxTrainExamples { get; init; }

    /// <summary>Use only the first N validation examples.</summary>
    public int? MaxEvalExamples { get; init; }

    /// <summary>Keep the weights of the epoch with the best value of this validation metric (loss is minimised, the rest maximised).</summary>
    public string? SaveBest { get; init; }

    /// <summary>Held-out fraction (or count when ≥ 1) of the training data when <see cref="EvalDataPath"/> is null (<see cref="DefaultValSize"/>).</summary>
    public double ValSize { get; init; } = DefaultValSize;

    /// <summary>
    /// How the validation part is held out when <see cref="EvalDataPath"/> is null; null = stratified by label for
    /// classification, random for regression (both seeded with <see cref="Seed"/>).
    /// </summary>
    public SplitMethod? Split { get; init; }

    /// <summary>The split method used.</summary>
    public SplitMethod EffectiveSplit => Split ?? (Task.Regression ? SplitMethod.Random : SplitMethod.Stratified);

    /// <summary>Group training examples of similar length into batches (less padding).</summary>
    public bool BucketByLength { get; init; } = true;

    /// <summary>Also write a checkpoint every this many optimizer steps (0: only at the end of each epoch).</summary>
    public int SaveSteps { get; init; }

    /// <summary>Continue the unfinished run in <see cref="OutputDir"/> from its latest checkpoint (same settings required).</summary>
    public bool Resume { get; init; }

    /// <summary>Stop after this many optimizer steps of this invocation, leaving a checkpoint there (null: run to the end).</summary>
    public int? StopAfter { get; init; }

    /// <summary>Allow an output directory that holds files BertSharp did not write (they are kept; only BertSharp's own files are replaced).</summary>
    public bool Overwrite { get; init; }

    /// <summary>auto, cpu, cuda, cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Train only the classification head: every BERT parameter (embeddings, layers, pooler) stays as loaded (<see cref="ParameterFreezing"/>).</summary>
    public bool FreezeEncoder { get; init; }

    /// <summary>Keep the embeddings and the first N encoder layers as loaded (<see cref="ParameterFreezing"/>).</summary>
    public int? FreezeLayers { get; init; }

    /// <summary>
    /// Dropout masks keyed by (seed, step, example index) instead of torch's generator (<see cref="Modeling.ExampleDropout"/>),
    /// so a run gives the same result on any number of ranks; always on in a data-parallel run.
    /// </summary>
    public bool ExampleDropout { get; init; }

    public int EffectiveEpochs => Epochs ?? Task.DefaultEpochs;

    public int EffectiveBatchSize => BatchSize ?? Task.DefaultBatchSize;

    public int EffectiveMaxLength => MaxLength ?? Task.DefaultMaxLength;

    public const double DefaultLearningRate = 2e-5;

    public const double DefaultEps = 1e-8;

    public const double DefaultWeightDecay = 0.01;

    public const double DefaultMaxGradNorm = 1.0;

    public const ulong DefaultSeed = 42;

    public const double DefaultValSize = 0.1;

    /// <summary>Checks ranges; errors name the option (<see cref="BertSharpException.Field"/>).</summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        static void Positive(string name, double v)
        {
            if (!(v > 0) || double.IsInfinity(v))
            {
                throw new BertSharpException($"{F(name)} {v}: expected a positive number.");
            }
        }
        Positive("epochs", EffectiveEpochs);
        Positive("batch_size", EffectiveBatchSize);
        Positive("max_length", EffectiveMaxLength);
        Positive("learning_rate", LearningRate);
        Positive("adam_epsilon", Eps);
        Positive("gradient_accumulation_steps", GradAccum);
        if (EffectiveMaxLength < 3)
        {
            throw new BertSharpException($"{F("max_length")} {EffectiveMaxLength}: expected at least 3 ([CLS], one token, [SEP]).");
        }
        if (WeightDecay < 0 || double.IsNaN(WeightDecay))
        {
            throw new BertSharpException($"{F("weight_decay")} {WeightDecay}: expected a number ≥ 0.");
        }
        if (WarmupRatio is not null && WarmupSteps is not null)
        {
            throw new BertSharpException($"{F("warmup_ratio")} and {F("warmup_steps")}: give one or the other.");
        }
        if (WarmupRatio is { } r && (r < 0 || r >= 1 || double.IsNaN(r)))
        {
            throw new BertSharpException($"{F("warmup_ratio")} {r}: expected a fraction in [0, 1).");
        }
        if (WarmupSteps is < 0)
        {
            throw new BertSharpException($"{F("warmup_steps")} {WarmupSteps}: expected a number ≥ 0.");
        }
        if (Pooling is not (null or "cls" or "mean"))
        {
            throw new BertSharpException($"{F("pooling")} {Pooling}: expected cls or mean.");
        }
        if (HeadTokens is { } head && (TruncationSide != TruncationSide.HeadAndTail || head < 0))
        {
            throw new BertSharpException($"{F("head_tokens")} {head}: only with {F("truncation_side")} head+tail, and at least 0.");
        }
        if (EvalDataPath is null)
        {
            Data.DataSplit.CheckValSize(ValSize);
        }
        if (MaxTrainExamples is <= 0 || MaxEvalExamples is <= 0)
        {
            throw new BertSharpException($"{F("max_train_examples")} / {F("max_eval_examples")}: expected a positive number.");
        }
        if (SaveSteps < 0)
        {
            throw new BertSharpException($"{F("save_steps")} {SaveSteps}: expected a number ≥ 0 (0: a checkpoint at each epoch end only).");
        }
        if (StopAfter is < 1)
        {
            throw new BertSharpException($"{F("stop_after")} {StopAfter}: expected at least 1.");
        }
        if (File.Exists(OutputDir))
        {
            throw new BertSharpException($"{F("output_dir")} {OutputDir}: is a file; expected a directory (it is created, or replaced when the run completes).");
        }
        if ((ModelDir is null) == (ConfigPreset is null))
        {
            throw new BertSharpException($"give either {F("model")} (a checkpoint to fine-tune) or {F("config")} with {F("vocab")} (train from scratch).");
        }
        if (ConfigPreset is not null && VocabPath is null)
        {
            throw new BertSharpException($"{F("config")} {ConfigPreset}: a model trained from scratch needs {F("vocab")} (a WordPiece vocab.txt).");
        }
        if (ModelDir is not null && VocabPath is not null)
        {
            throw new BertSharpException($"{F("vocab")}: only with {F("config")}; a checkpoint brings its own vocab.txt.");
        }
    }
}
