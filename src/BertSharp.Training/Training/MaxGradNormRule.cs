namespace BertSharp.Training;

/// <summary>
/// The range of <c>max_grad_norm</c>, one rule for fine-tuning (<see cref="TrainingOptions"/>) and pre-training
/// (<see cref="Pretraining.PretrainingTrainerOptions"/>), which share one <see cref="Trainer"/>.
/// </summary>
internal static class MaxGradNormRule
{
    // 0 is the one way to turn clipping off: a negative value is more likely a slip of the sign than a wish, and a
    // pre-training run's trainer_state.json holding one was already refused on resume.
    /// <summary>What a refusal says was expected.</summary>
    public const string Expected = "a number ≥ 0 (0: no clipping)";

    /// <summary>Whether <paramref name="maxGradNorm"/> is in range (NaN is not).</summary>
    public static bool Allows(double maxGradNorm) => maxGradNorm >= 0;
}
