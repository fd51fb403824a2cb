using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// HF <c>get_linear_schedule_with_warmup</c>: the learning rate rises linearly from 0 to the base rate over the warmup steps,
/// then falls linearly to 0 at <see cref="TotalSteps"/>.
/// </summary>
public sealed class LinearWarmupSchedule
{
    /// <summary>The schedule of a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    /// <param name="baseLearningRate">The peak rate, reached at the end of the warm-up.</param>
    /// <param name="warmupSteps">Steps of linear rise from 0; with 0 the run starts at the peak.</param>
    /// <param name="totalSteps">Steps of the whole run; the rate is 0 from this step on.</param>
    /// <exception cref="BertSharpException"><paramref name="warmupSteps"/> or <paramref name="totalSteps"/> is negative.</exception>
    public LinearWarmupSchedule(double baseLearningRate, long warmupSteps, long totalSteps)
    {
        if (warmupSteps < 0 || totalSteps < 0)
        {
            throw new BertSharpException(Invariant($"learning-rate schedule: warmup {warmupSteps} and total {totalSteps} steps must not be negative."));
        }
        BaseLearningRate = baseLearningRate;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
    }

    /// <summary>The peak learning rate, the one <see cref="Factor"/> multiplies.</summary>
    public double BaseLearningRate { get; }
    /// <summary>Scheduler steps of linear warm-up from 0 to <see cref="BaseLearningRate"/>.</summary>
    public long WarmupSteps { get; }
    /// <summary>The scheduler step at which the learning rate has decayed to 0 (and stays there).</summary>
    public long TotalSteps { get; }

    /// <summary>The multiplier of the base rate at scheduler step <paramref name="step"/> (HF's lr_lambda).</summary>
    public double Factor(long step)
    {
        if (step < WarmupSteps)
        {
            return (double)step / Math.Max(1, WarmupSteps);
        }
        return Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
    }

    /// <summary>The learning rate used by the optimizer step taken after <paramref name="step"/> scheduler steps.</summary>
    public double LearningRate(long step) => BaseLearningRate * Factor(step);

    /// <summary>Sets every parameter group of <paramref name="optimizer"/> to <see cref="LearningRate"/>(<paramref name="step"/>).</summary>
    public void Apply(torch.optim.Optimizer optimizer, long step)
    {
        var lr = LearningRate(step);
        foreach (var g in optimizer.ParamGroups)
        {
            g.LearningRate = lr;
        }
    }
}
