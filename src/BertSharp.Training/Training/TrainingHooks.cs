namespace BertSharp.Training;

/// <summary>The micro-batches of each optimizer step, in order; its position is part of a checkpoint.</summary>
/// <typeparam name="TBatch">The collated micro-batch.</typeparam>
public interface ITrainingData<TBatch>
{
    /// <summary>Builders of the micro-batches of step <paramref name="step"/> (1-based; called once per step, in order).</summary>
    IReadOnlyList<Func<TBatch>> MicroBatches(long step);
}

/// <summary>
/// Something that happens around the optimizer steps of a run: logging, evaluation, checkpoints, stopping. The default
/// methods do nothing.
/// </summary>
public interface ITrainingHook
{
    /// <summary>Before step <paramref name="step"/> (1-based) builds its first micro-batch.</summary>
    void BeforeStep(long step)
    {
    }

    /// <summary>
    /// After the optimizer step; return false to end the run here (the hooks after this one still run). A bf16 run
    /// (<see cref="OptimizerSettings.Bf16"/>) calls it inside the <see cref="BertSharp.Modeling.MixedPrecision.Bf16"/>
    /// scope, so that validation here runs as HF's does under autocast; <see cref="BertSharp.Modeling.MixedPrecision.Off"/>
    /// leaves it.
    /// </summary>
    bool AfterStep(StepOutcome outcome) => true;
}

/// <summary>A hook from two delegates.</summary>
/// <param name="before">Called before each step, or null.</param>
/// <param name="after">Called after each step (return false to stop), or null.</param>
public sealed class TrainingHook(Action<long>? before = null, Func<StepOutcome, bool>? after = null) : ITrainingHook
{
    /// <inheritdoc/>
    public void BeforeStep(long step) => before?.Invoke(step);

    /// <inheritdoc/>
    public bool AfterStep(StepOutcome outcome) => after?.Invoke(outcome) ?? true;

    /// <summary>Runs <paramref name="action"/> after every step whose number is a multiple of <paramref name="every"/> (never when 0) or is <paramref name="last"/>.</summary>
    public static TrainingHook Every(long every, long last, Action<StepOutcome> action) => new(after: o =>
    {
        if ((every > 0 && o.Step % every == 0) || o.Step == last)
        {
            action(o);
        }
        return true;
    });

    /// <summary>Ends the run after <paramref name="steps"/> steps of this invocation (null: never).</summary>
    public static TrainingHook StopAfter(long? steps)
    {
        long taken = 0;
        return new(after: _ => steps is null || ++taken < steps);
    }
}
