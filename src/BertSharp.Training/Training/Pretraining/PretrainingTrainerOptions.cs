namespace BertSharp.Training.Pretraining;

/// <summary>Settings of a pre-training run (MLM + NSP). Defaults follow google-research/bert's run_pretraining where it has them.</summary>
public sealed record PretrainingTrainerOptions
{
    /// <summary>Optimizer steps in the whole run (the schedule decays to 0 here).</summary>
    public long Steps { get; init; } = 1000;

    /// <summary>Instances per micro-batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;

    /// <summary>Peak learning rate (google: 1e-4).</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Linear warm-up steps from 0 to the peak.</summary>
    public long WarmupSteps { get; init; }

    /// <summary>Decoupled weight decay, not applied to biases and LayerNorm weights (google: 0.01).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>AdamW epsilon (google: 1e-6).</summary>
    public double Eps { get; init; } = 1e-6;

    /// <summary>Global gradient-norm clip (google: 1.0); 0 disables clipping.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Write checkpoint-N every this many steps (0: only at the end).</summary>
    public long SaveEvery { get; init; }

    /// <summary>Evaluate on the held-out instances every this many steps (0: never).</summary>
    public long EvalEvery { get; init; }

    /// <summary>Instances held out from the end of the data for evaluation when <see cref="EvalEvery"/> is set.</summary>
    public int EvalInstances { get; init; } = 512;

    /// <summary>Mask every instance afresh each time it is used (the stored masks are ignored).</summary>
    public bool DynamicMasking { get; init; }

    /// <summary>Seed of initialisation, dropout and dynamic masking.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Throws <see cref="BertSharpException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Steps < 1)
        {
            throw new BertSharpException($"--steps {Steps}: expected at least 1.");
        }
        if (BatchSize < 1 || GradAccum < 1)
        {
            throw new BertSharpException($"--batch-size {BatchSize} / --grad-accum {GradAccum}: expected at least 1.");
        }
        if (!(LearningRate > 0) || !(Eps > 0) || WeightDecay < 0 || MaxGradNorm < 0)
        {
            throw new BertSharpException("--lr and --eps must be positive, --weight-decay and --max-grad-norm not negative.");
        }
        if (WarmupSteps < 0 || WarmupSteps > Steps)
        {
            throw new BertSharpException($"--warmup-steps {WarmupSteps}: expected 0..{Steps} (--steps).");
        }
        if (SaveEvery < 0 || EvalEvery < 0 || EvalInstances < 1)
        {
            throw new BertSharpException("--save-every and --eval-every must not be negative.");
        }
    }
}
