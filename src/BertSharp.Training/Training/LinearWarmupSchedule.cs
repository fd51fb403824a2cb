using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// HF <c>get_linear_schedule_with_warmup</c>: the learning rate rises linearly from 0 to the base rate over the warmup steps,
/// then falls linearly to 0 at <see cref="TotalSteps"/>.
/// </summary>
public sealed class LinearWarmupSchedule
{
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

    public double BaseLearningRate { get; }
    public long WarmupSteps { get; }
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
