using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Training;

/// <summary>
/// The settings every fine-tuning shares — sequence classification (<see cref="FineTuneOptions"/>) and the task heads
/// (<see cref="HeadFineTuneOptions"/>) both hold one: data, the model or its from-scratch config, optimiser, schedule,
/// batch size and length, seed, example limits, checkpoints, device, output and freezing. Null numeric settings take the
/// task's default (the record that holds this one knows it); the rest default to the BERT paper / HF values here.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Training data file.</summary>
    public required string DataPath { get; init; }

    /// <summary>Validation data file, or null (classification then holds part of the training data out; the heads validate on none).</summary>
    public string? EvalDataPath { get; init; }

    /// <summary>
    /// The validation file a rank reads: <see cref="EvalDataPath"/>, or none on the ranks of a data-parallel run that do not
    /// validate (<paramref name="validates"/> false), which then hold no validation data; only rank 0's notes are shown.
    /// </summary>
    internal string? ValidationFile(bool validates) => validates ? EvalDataPath : null;

    /// <summary>Output directory (checkpoints during the run, an HF checkpoint directory at the end, replaced atomically).</summary>
    public required string OutputDir { get; init; }

    /// <summary>HF checkpoint directory to start from; null to train from scratch with <see cref="ConfigPreset"/>.</summary>
    public string? ModelDir { get; init; }

    /// <summary>Size preset (tiny, mini, small, medium, base, large) or config.json file for a model trained from scratch.</summary>
    public string? ConfigPreset { get; init; }

    /// <summary>WordPiece vocab.txt for a model trained from scratch.</summary>
    public string? VocabPath { get; init; }

    /// <summary>Lower-case input for a model trained from scratch; null = <see cref="Tokenization.LowercaseRule"/> (tokenizer config, else the vocab).</summary>
    public bool? Lowercase { get; init; }

    /// <summary>Passes over the training data; null = the task's default.</summary>
    public int? Epochs { get; init; }

    /// <summary>Examples per batch (over all ranks of a data-parallel run); null = the task's default.</summary>
    public int? BatchSize { get; init; }

    /// <summary>
    /// Examples per validation batch (HF's <c>per_device_eval_batch_size</c>, whose default is 8); null = the training batch
    /// size. The validation loss is HF's <c>eval_loss</c>, a mean of the batches' means, so token classification's (a mean
    /// over labelled tokens per batch) shifts slightly with this size; a resume may change it (it changes no training).
    /// </summary>
    public int? EvalBatchSize { get; init; }

    /// <summary>The validation batch size of a run whose training batch size is <paramref name="batchSize"/>: <see cref="EvalBatchSize"/>, or that.</summary>
    internal int EffectiveEvalBatchSize(int batchSize) => EvalBatchSize ?? batchSize;

    /// <summary>Tokens per example; null = the task's default, bounded by the model's trained length.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Peak learning rate of AdamW (<see cref="DefaultLearningRate"/>).</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>AdamW epsilon (<see cref="DefaultEps"/>).</summary>
    public double Eps { get; init; } = DefaultEps;

    /// <summary>Decoupled weight decay, not on biases and LayerNorm weights (<see cref="DefaultWeightDecay"/>).</summary>
    public double WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>Global gradient-norm clip, ≥ 0; 0 disables clipping (<see cref="DefaultMaxGradNorm"/>).</summary>
    public double MaxGradNorm { get; init; } = DefaultMaxGradNorm;

    /// <summary>Warmup as a fraction of all optimizer steps (exclusive with <see cref="WarmupSteps"/>; default 0).</summary>
    public double? WarmupRatio { get; init; }

    /// <summary>Warmup in optimizer steps.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>HF's <c>lr_scheduler_type</c>: the learning-rate schedule (<see cref="LearningRateSchedule.Types"/>; default linear).</summary>
    public string LrSchedulerType { get; init; } = LearningRateSchedule.DefaultType;

    /// <summary>HF's <c>lr_scheduler_kwargs</c>: the schedule's own arguments (num_cycles, lr_end, min_lr, ...), or null for its defaults.</summary>
    public JsonObject? LrSchedulerKwargs { get; init; }

    /// <summary>
    /// HF's <c>label_smoothing_factor</c> ε, in [0, 1): with ε &gt; 0 the training and validation loss is the Trainer's
    /// <c>LabelSmoother</c> over the logits, (1 − ε) · cross-entropy + ε · mean −log_softmax over the classes, instead of the
    /// head's own loss; for single-label classification (pairs too), ner and swag; regression and squad refuse it
    /// (<see cref="RequireClassesForLabelSmoothing"/>). Default 0.
    /// </summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;

    /// <summary>
    /// HF's <c>bf16</c>: train and validate with bf16 mixed precision (<see cref="OptimizerSettings.Bf16"/>,
    /// <see cref="Modeling.MixedPrecision"/>); recorded as <c>"bf16": true</c>, and a resume must keep it. Default false.
    /// </summary>
    public bool Bf16 { get; init; }

    /// <summary>Seed of initialisation, dropout, shuffling and any split (<see cref="DefaultSeed"/>).</summary>
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>Use only the first N training examples (sentences, questions; after any split).</summary>
    public int? MaxTrainExamples { get; init; }

    /// <summary>Use only the first N validation examples.</summary>
    public int? MaxEvalExamples { get; init; }

    /// <summary>
    /// Also write a checkpoint every this many optimizer steps (0: only where the run validates); with
    /// <see cref="EvalSteps"/> a multiple of it. A whole number of steps, or below 1 a share of the run's optimizer steps,
    /// ceil(steps × ratio) (HF's ratio form of <c>save_steps</c>).
    /// </summary>
    public double SaveSteps { get; init; }

    /// <summary>
    /// Validate every this many optimizer steps (and at the run's last step) instead of at each epoch end, as HF's
    /// <c>eval_strategy="steps"</c> with <c>eval_steps</c>: each validation is a checkpoint, a candidate for save_best and a
    /// count of the early-stopping patience. A whole number of steps, or below 1 a share of the run's optimizer steps,
    /// ceil(steps × ratio) as HF resolves its ratio form. Null: at each epoch end.
    /// </summary>
    public double? EvalSteps { get; init; }

    /// <summary>
    /// These options with <see cref="EvalSteps"/> and <see cref="SaveSteps"/> given as ratios resolved against a run of
    /// <paramref name="totalSteps"/> optimizer steps, as HF's <c>TrainerState.compute_steps</c> does
    /// (<c>math.ceil(max_steps * ratio)</c>, in doubles as Python's floats: 0.25 of 10 steps is 3); whole numbers stay.
    /// The saving steps are then checked to be a multiple of the evaluation steps.
    /// </summary>
    internal TrainingOptions StepsResolvedFor(long totalSteps)
    {
        var resolved = this with
        {
            EvalSteps = EvalSteps is { } every ? StepRatio.Resolve(every, totalSteps) : null,
            SaveSteps = StepRatio.Resolve(SaveSteps, totalSteps),
        };
        resolved.CheckSaveStepsMultipleOfEvalSteps(this);
        return resolved;
    }

    // HF refuses it with load_best_model_at_end: a save between two evaluations would keep weights nothing evaluated. The
    // message gives the ratios as typed beside the steps they resolved to.
    private void CheckSaveStepsMultipleOfEvalSteps(TrainingOptions given)
    {
        static string F(string name) => BertSharpException.Field(name);
        static string Given(double was, double now) => was == now ? Invariant($"{now}") : Invariant($"{was} ({now} steps)");
        if (EvalSteps is { } every && SaveSteps > 0 && SaveSteps % every != 0)
        {
            var (save, eval) = (Given(given.SaveSteps, SaveSteps), Given(given.EvalSteps!.Value, every));
            throw new BertSharpException(Invariant(
                $"{F("save_steps")} {save} and {F("eval_steps")} {eval}: the saving steps must be a multiple of the evaluation steps, but found {SaveSteps}, which is not a multiple of {every}."));
        }
    }

    /// <summary>Continue the unfinished run in <see cref="OutputDir"/> from its latest checkpoint (same settings required).</summary>
    public bool Resume { get; init; }

    /// <summary>Stop after this many optimizer steps of this invocation, leaving a checkpoint there (null: run to the end).</summary>
    public int? StopAfter { get; init; }

    /// <summary>
    /// Stop when the save_best metric (required) has not improved for this many epochs in a row, as HF's
    /// <c>EarlyStoppingCallback(early_stopping_patience)</c> does with <c>metric_for_best_model</c>; the model is then the best
    /// epoch's. Null: train every epoch.
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>
    /// How much (absolute) the save_best metric must beat the best epoch so far to reset the patience, as HF's
    /// <c>early_stopping_threshold</c>; only with <see cref="EarlyStoppingPatience"/>. Null: 0.
    /// </summary>
    public double? EarlyStoppingThreshold { get; init; }

    /// <summary>auto, cpu, cuda, cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Allow an output directory that holds files BertSharp did not write (they are kept; only BertSharp's own files are replaced).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Train only the task head: every BERT parameter (embeddings, layers, pooler) stays as loaded (<see cref="ParameterFreezing"/>).</summary>
    public bool FreezeEncoder { get; init; }

    /// <summary>Keep the embeddings and the first N encoder layers as loaded (<see cref="ParameterFreezing"/>).</summary>
    public int? FreezeLayers { get; init; }

    /// <summary>Default <see cref="LearningRate"/>: 2e-5, within the BERT paper's fine-tuning range (5e-5, 3e-5, 2e-5).</summary>
    public const double DefaultLearningRate = 2e-5;

    /// <summary>Default <see cref="Eps"/>: 1e-8, torch's and HF's AdamW default.</summary>
    public const double DefaultEps = 1e-8;

    /// <summary>Default <see cref="WeightDecay"/>: 0.01, the BERT paper's (HF's Trainer defaults to 0).</summary>
    public const double DefaultWeightDecay = 0.01;

    /// <summary>Default <see cref="MaxGradNorm"/>: 1.0, HF Trainer's.</summary>
    public const double DefaultMaxGradNorm = 1.0;

    /// <summary>Default <see cref="Seed"/>: 42, HF Trainer's.</summary>
    public const ulong DefaultSeed = 42;

    /// <summary>Warmup steps of a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    public int WarmupFor(long totalSteps) => WarmupSteps ?? (int)WarmupStepsOf(totalSteps, WarmupRatio ?? 0);

    /// <summary>
    /// The warm-up steps a ratio of <paramref name="totalSteps"/> gives, as HF's <c>get_warmup_steps</c>:
    /// <c>math.ceil(num_training_steps * warmup_ratio)</c>, in doubles as Python's floats (0.25 of 10 steps is 3).
    /// </summary>
    internal static long WarmupStepsOf(long totalSteps, double ratio) => (long)Math.Ceiling(totalSteps * ratio);

    /// <summary>
    /// Refuses <see cref="EvalSteps"/> without validation data, as HF's Trainer refuses eval_strategy="steps" without an
    /// eval_dataset: each of its validations would score nothing and only write the checkpoint <see cref="SaveSteps"/> writes.
    /// </summary>
    /// <param name="hasValidation">Whether the run validates (true on the ranks that do not read the validation data).</param>
    /// <param name="source">Where the run could get validation data, for the message.</param>
    internal void RequireValidationForEvalSteps(bool hasValidation, string source)
    {
        if (EvalSteps is { } every && !hasValidation)
        {
            throw new BertSharpException(Invariant(
                $"{BertSharpException.Field("eval_steps")} {every}: needs validation data ({source}); {BertSharpException.Field("save_steps")} writes checkpoints alone."));
        }
    }

    /// <summary>
    /// Refuses reduce_lr_on_plateau without validation data, as HF refuses it without an eval strategy, or where the
    /// validation does not report the metric it would watch: --save-best's, else the loss (HF's metric_for_best_model default).
    /// </summary>
    /// <param name="hasValidation">Whether the run validates (true on the ranks that do not read the validation data).</param>
    /// <param name="source">Where the run could get validation data, for the message.</param>
    /// <param name="saveBest">The run's save_best metric, or null.</param>
    /// <param name="reported">The metrics the validation reports.</param>
    internal void RequireValidationForPlateau(bool hasValidation, string source, string? saveBest, IReadOnlyList<string> reported)
    {
        if (!LearningRateSchedule.FollowsValidation(LrSchedulerType))
        {
            return;
        }
        var field = $"{BertSharpException.Field("lr_scheduler_type")} {LrSchedulerType}";
        if (!hasValidation)
        {
            throw new BertSharpException($"{field}: needs validation data ({source}); it lowers the rate when the validation metric stops improving.");
        }
        if (saveBest is null && !reported.Contains("loss"))
        {
            throw new BertSharpException(
                $"{field}: watches the validation loss, which this task's validation does not report; give {BertSharpException.Field("save_best")} one of {string.Join(", ", reported)}.");
        }
    }

    /// <summary>
    /// Refuses early stopping without <paramref name="saveBest"/>: it watches that metric, as HF's EarlyStoppingCallback
    /// requires metric_for_best_model (and validation data, which save_best requires in turn).
    /// </summary>
    internal void RequireSaveBestForEarlyStopping(string? saveBest)
    {
        if (EarlyStoppingPatience is { } patience && saveBest is null)
        {
            throw new BertSharpException(Invariant(
                $"{BertSharpException.Field("early_stopping_patience")} {patience}: needs {BertSharpException.Field("save_best")} METRIC, the validation metric whose improvement it watches (HF's metric_for_best_model)."));
        }
    }

    /// <summary>
    /// Refuses <see cref="LabelSmoothing"/> where the task's loss is not a cross-entropy over class labels: HF's Trainer
    /// would run its LabelSmoother there too, which fails on regression's float targets (gather needs class ids) and leaves
    /// squad's start and end positions alone (it smooths only an input named labels), so the setting would train nothing
    /// it says.
    /// </summary>
    /// <param name="task">The task, for the message.</param>
    /// <param name="whyNot">Why the task's loss cannot be smoothed; null when it can.</param>
    internal void RequireClassesForLabelSmoothing(string task, string? whyNot)
    {
        if (LabelSmoothing != 0 && whyNot is not null)
        {
            throw new BertSharpException(Invariant(
                $"{BertSharpException.Field("label_smoothing_factor")} {LabelSmoothing}: smooths a cross-entropy over class labels; {task} {whyNot}."));
        }
    }

    /// <summary>Refuses a null <paramref name="training"/> (a required member set to null) naming the field.</summary>
    internal static void Require(TrainingOptions? training)
    {
        if (training is null)
        {
            // A plain name, not a Field: no flag sets it (the CLI always builds one), so the CLI never shows this message.
            throw new BertSharpException("training: missing (null); expected the shared training settings (TrainingOptions).");
        }
    }

    /// <summary>Checks ranges and combinations; errors name the field (<see cref="BertSharpException.Field"/>).</summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        if (DataPath is null)
        {
            throw new BertSharpException($"{F("data")}: missing (null); expected the training data file.");
        }
        if (OutputDir is null)
        {
            throw new BertSharpException($"{F("output_dir")}: missing (null); expected the output directory.");
        }
        static void Positive(string name, double? v)
        {
            if (v is { } x && (!(x > 0) || double.IsInfinity(x)))
            {
                throw new BertSharpException(Invariant($"{F(name)} {x}: expected a positive number."));
            }
        }
        Positive("epochs", Epochs);
        Positive("batch_size", BatchSize);
        Positive(TrainingArgs.EvalBatchSizeKey, EvalBatchSize);
        Positive("max_length", MaxLength);
        Positive("learning_rate", LearningRate);
        Positive("adam_epsilon", Eps);
        Positive("gradient_accumulation_steps", GradAccum);
        if (MaxLength is < 3)
        {
            throw new BertSharpException(Invariant($"{F("max_length")} {MaxLength}: expected at least 3 ([CLS], one token, [SEP])."));
        }
        if (WeightDecay < 0 || double.IsNaN(WeightDecay))
        {
            throw new BertSharpException(Invariant($"{F("weight_decay")} {WeightDecay}: expected a number ≥ 0."));
        }
        if (!MaxGradNormRule.Allows(MaxGradNorm))
        {
            throw new BertSharpException(Invariant($"{F("max_grad_norm")} {MaxGradNorm}: expected {MaxGradNormRule.Expected}."));
        }
        if (WarmupRatio is not null && WarmupSteps is not null)
        {
            throw new BertSharpException($"{F("warmup_ratio")} and {F("warmup_steps")}: give one or the other.");
        }
        if (WarmupRatio is { } r && (r < 0 || r >= 1 || double.IsNaN(r)))
        {
            throw new BertSharpException(Invariant($"{F("warmup_ratio")} {r}: expected a fraction in [0, 1)."));
        }
        if (WarmupSteps is < 0)
        {
            throw new BertSharpException(Invariant($"{F("warmup_steps")} {WarmupSteps}: expected a number ≥ 0."));
        }
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
        {
            throw new BertSharpException(Invariant($"{F("label_smoothing_factor")} {LabelSmoothing}: expected a number in [0, 1)."));
        }
        LearningRateSchedule.Check(LrSchedulerType, LrSchedulerKwargs, LearningRate);
        if (MaxTrainExamples is <= 0 || MaxEvalExamples is <= 0)
        {
            throw new BertSharpException($"{F("max_train_examples")} / {F("max_eval_examples")}: expected a positive number.");
        }
        // HF: "--save_steps must be an integer if bigger than 1"; below 1 a ratio of the run's steps.
        if (!StepRatio.IsValid(SaveSteps, allowZero: true))
        {
            throw new BertSharpException(Invariant(
                $"{F("save_steps")} {SaveSteps}: expected a whole number of optimizer steps ≥ 1, a ratio of the run's steps in (0, 1), or 0 (a checkpoint only where the run validates)."));
        }
        if (EvalSteps is { } evalSteps && !StepRatio.IsValid(evalSteps, allowZero: false))
        {
            throw new BertSharpException(Invariant(
                $"{F("eval_steps")} {evalSteps}: expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1)."));
        }
        // Whole numbers are checked before anything runs; a ratio once the run's steps are known (StepsResolvedFor).
        if (EvalSteps is not < 1 && SaveSteps is not < 1)
        {
            CheckSaveStepsMultipleOfEvalSteps(this);
        }
        if (StopAfter is < 1)
        {
            throw new BertSharpException(Invariant($"{F("stop_after")} {StopAfter}: expected at least 1."));
        }
        if (EarlyStoppingPatience is < 1)
        {
            throw new BertSharpException(Invariant($"{F("early_stopping_patience")} {EarlyStoppingPatience}: expected at least 1 (epochs without improvement before the run stops)."));
        }
        if (EarlyStoppingThreshold is { } threshold)
        {
            if (EarlyStoppingPatience is null)
            {
                throw new BertSharpException($"{F("early_stopping_threshold")}: only with {F("early_stopping_patience")}.");
            }
            if (!(threshold >= 0) || double.IsInfinity(threshold))
            {
                throw new BertSharpException(Invariant($"{F("early_stopping_threshold")} {threshold}: expected a number ≥ 0."));
            }
        }
        if (FreezeEncoder && FreezeLayers is not null)
        {
            throw new BertSharpException($"{F("freeze_encoder")} and {F("freeze_layers")}: give one or the other.");
        }
        // A link is a file only where it ends at one: a link that ends nowhere is the run directory's check to refuse.
        if (LinkedFile.Exists(OutputDir))
        {
            throw new PathException(OutputDir, "is a file; expected a directory (it is created, or replaced when the run completes).");
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
