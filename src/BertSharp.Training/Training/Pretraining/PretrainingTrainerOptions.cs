using System.Globalization;
using System.Text.Json.Nodes;

namespace BertSharp.Training.Pretraining;

/// <summary>Settings of a pre-training run (MLM + NSP, or MLM only). Defaults follow google-research/bert's run_pretraining where it has them.</summary>
public sealed record PretrainingTrainerOptions
{
    /// <summary>Default <see cref="Steps"/>: 1,000 optimizer steps, a short run (google's BERT trained for 1,000,000).</summary>
    public const long DefaultSteps = 1000;

    /// <summary>Default <see cref="BatchSize"/>: 32 instances per micro-batch.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>Default <see cref="LearningRate"/>: 1e-4, google's pre-training rate.</summary>
    public const double DefaultLearningRate = 1e-4;

    /// <summary>Default <see cref="WeightDecay"/>: 0.01, google's.</summary>
    public const double DefaultWeightDecay = 0.01;

    /// <summary>Default <see cref="Eps"/>: 1e-6, google's.</summary>
    public const double DefaultEps = 1e-6;

    /// <summary>Default <see cref="MaxGradNorm"/>: 1.0, google's.</summary>
    public const double DefaultMaxGradNorm = 1.0;

    /// <summary>Default <see cref="EvalInstances"/>: 512 held-out instances.</summary>
    public const int DefaultEvalInstances = 512;

    /// <summary>Default <see cref="Seed"/>: 42.</summary>
    public const long DefaultSeed = 42;

    /// <summary>Optimizer steps in the whole run (the schedule decays to 0 here).</summary>
    public long Steps { get; init; } = DefaultSteps;

    /// <summary>Instances per micro-batch.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>
    /// Instances per evaluation batch (HF's <c>per_device_eval_batch_size</c>, whose default is 8); null = <see cref="BatchSize"/>.
    /// The evaluation loss is HF's <c>eval_loss</c>, a mean of the batches' means, so it shifts slightly with this size; a
    /// resume may change it.
    /// </summary>
    public int? EvalBatchSize { get; init; }

    /// <summary><see cref="EvalBatchSize"/>, or <see cref="BatchSize"/> without one.</summary>
    internal int EffectiveEvalBatchSize => EvalBatchSize ?? BatchSize;

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;

    /// <summary>Peak learning rate (google: 1e-4).</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>Linear warm-up steps from 0 to the peak; null for <see cref="WarmupRatio"/>, else 10 % of <see cref="Steps"/> (<see cref="EffectiveWarmupSteps"/>).</summary>
    public long? WarmupSteps { get; init; }

    /// <summary>
    /// Warm-up as a fraction of <see cref="Steps"/>, in [0, 1), as HF run_mlm's <c>warmup_ratio</c>: ceil(steps × ratio)
    /// steps; exclusive with <see cref="WarmupSteps"/>, as in fine-tuning (<see cref="TrainingOptions.WarmupRatio"/>).
    /// </summary>
    public double? WarmupRatio { get; init; }

    /// <summary>HF's <c>lr_scheduler_type</c>: the learning-rate schedule (<see cref="LearningRateSchedule.Types"/>; default linear).</summary>
    public string LrSchedulerType { get; init; } = LearningRateSchedule.DefaultType;

    /// <summary>HF's <c>lr_scheduler_kwargs</c>: the schedule's own arguments (num_cycles, lr_end, min_lr, ...), or null for its defaults.</summary>
    public JsonObject? LrSchedulerKwargs { get; init; }

    /// <summary>Decoupled weight decay, not applied to biases and LayerNorm weights (google: 0.01).</summary>
    public double WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>AdamW epsilon (google: 1e-6).</summary>
    public double Eps { get; init; } = DefaultEps;

    /// <summary>Global gradient-norm clip (google: 1.0), ≥ 0; 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = DefaultMaxGradNorm;

    /// <summary>Write checkpoint-N every this many steps (0: only at the end).</summary>
    public long SaveEvery { get; init; }

    /// <summary>Evaluate on the held-out instances every this many steps (0: never).</summary>
    public long EvalEvery { get; init; }

    /// <summary>Instances held out from the end of the data for evaluation when <see cref="EvalEvery"/> is set.</summary>
    public int EvalInstances { get; init; } = DefaultEvalInstances;

    /// <summary>Mask every instance afresh each time it is used (the stored masks are ignored).</summary>
    public bool DynamicMasking { get; init; }

    /// <summary>
    /// Dropout masks keyed by (seed, step, instance position) instead of torch's generator (<see cref="Modeling.ExampleDropout"/>),
    /// so a run gives the same result on any number of ranks; always on in a data-parallel run.
    /// </summary>
    public bool ExampleDropout { get; init; }

    /// <summary>
    /// HF's <c>bf16</c>: train and evaluate with bf16 mixed precision (<see cref="OptimizerSettings.Bf16"/>,
    /// <see cref="Modeling.MixedPrecision"/>); recorded as <c>"bf16": true</c>, and a resume keeps it. Default false.
    /// </summary>
    public bool Bf16 { get; init; }

    /// <summary>
    /// <see cref="Data.Pretraining.PretrainingObjective.MaskedLmNextSentence"/> trains <c>BertForPreTraining</c>,
    /// <see cref="Data.Pretraining.PretrainingObjective.MaskedLm"/> trains <c>BertForMaskedLM</c> (no pooler, no NSP head);
    /// null: the objective the data was built for (<c>bert pretrain-data --objective</c>). Masked-LM-only training may use
    /// sentence-pair data (the NSP labels are ignored); the NSP objective needs pair data.
    /// </summary>
    public Data.Pretraining.PretrainingObjective? Objective { get; init; }

    /// <summary>Seed of initialisation, dropout and dynamic masking.</summary>
    public long Seed { get; init; } = DefaultSeed;

    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Allow an output directory that holds files BertSharp did not write (they are kept).</summary>
    public bool Overwrite { get; init; }

    /// <summary>The warm-up steps used: <see cref="WarmupSteps"/>, else ceil(<see cref="Steps"/> × <see cref="WarmupRatio"/>), else 10 % of <see cref="Steps"/>.</summary>
    public long EffectiveWarmupSteps => WarmupSteps ?? (WarmupRatio is { } ratio ? TrainingOptions.WarmupStepsOf(Steps, ratio) : Steps / 10);

    /// <summary>Throws <see cref="BertSharpException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (WarmupRatio is not null && WarmupSteps is not null)
        {
            throw new BertSharpException($"{BertSharpException.Field("warmup_ratio")} and {BertSharpException.Field("warmup_steps")}: give one or the other.");
        }
        if (FirstInvalid() is { } bad)
        {
            throw new BertSharpException($"{BertSharpException.Field(bad.Name)} {bad.Value}: expected {bad.Expected}.");
        }
        LearningRateSchedule.Check(LrSchedulerType, LrSchedulerKwargs, LearningRate);
        // As HF's TrainingArguments refuses it without an eval strategy: nothing would ever step it. The held-out instances
        // themselves are checked when the data is opened (eval_every's own refusal).
        if (LearningRateSchedule.FollowsValidation(LrSchedulerType) && EvalEvery == 0)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("lr_scheduler_type")} {LrSchedulerType}: needs evaluation ({BertSharpException.Field("eval_every")} N); it lowers the rate when the evaluation loss stops improving.");
        }
    }

    // The rules apart from their wording: a resume refuses settings read from trainer_state.json as the file's fields
    // (PretrainingTrainer.SavedRun), where Validate's field references would show as flags the user never typed.
    /// <summary>The first setting out of range: its name, its value and what was expected; null when all are in range.</summary>
    internal (string Name, string Value, string Expected)? FirstInvalid()
    {
        if (Steps < 1)
        {
            return ("steps", Steps.ToString(CultureInfo.InvariantCulture), "at least 1");
        }
        if (BatchSize < 1)
        {
            return ("batch_size", BatchSize.ToString(CultureInfo.InvariantCulture), "at least 1");
        }
        if (EvalBatchSize is < 1)
        {
            return (TrainingArgs.EvalBatchSizeKey, EvalBatchSize.Value.ToString(CultureInfo.InvariantCulture), "at least 1");
        }
        if (GradAccum < 1)
        {
            return ("gradient_accumulation_steps", GradAccum.ToString(CultureInfo.InvariantCulture), "at least 1");
        }
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            return ("learning_rate", LearningRate.ToString(CultureInfo.InvariantCulture), "a positive number");
        }
        if (!(Eps > 0) || double.IsInfinity(Eps))
        {
            return ("adam_epsilon", Eps.ToString(CultureInfo.InvariantCulture), "a positive number");
        }
        if (!(WeightDecay >= 0))
        {
            return ("weight_decay", WeightDecay.ToString(CultureInfo.InvariantCulture), "a number ≥ 0");
        }
        if (!MaxGradNormRule.Allows(MaxGradNorm))
        {
            return ("max_grad_norm", MaxGradNorm.ToString(CultureInfo.InvariantCulture), MaxGradNormRule.Expected);
        }
        if (WarmupRatio is { } ratio && !(ratio >= 0 && ratio < 1))
        {
            return ("warmup_ratio", ratio.ToString(CultureInfo.InvariantCulture), "a fraction in [0, 1)");
        }
        if (EffectiveWarmupSteps < 0 || EffectiveWarmupSteps > Steps)
        {
            return ("warmup_steps", EffectiveWarmupSteps.ToString(CultureInfo.InvariantCulture), Invariant($"0..{Steps} (the steps of the run)"));
        }
        if (SaveEvery < 0)
        {
            return ("save_every", SaveEvery.ToString(CultureInfo.InvariantCulture), "a number ≥ 0");
        }
        if (EvalEvery < 0)
        {
            return ("eval_every", EvalEvery.ToString(CultureInfo.InvariantCulture), "a number ≥ 0");
        }
        if (EvalInstances < 1)
        {
            return ("eval_instances", EvalInstances.ToString(CultureInfo.InvariantCulture), "at least 1");
        }
        return null;
    }
}
