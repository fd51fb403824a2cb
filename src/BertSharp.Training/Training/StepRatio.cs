namespace BertSharp.Training;

/// <summary>
/// HF's ratio form of a step interval (TrainingArguments' <c>eval_steps</c>, <c>save_steps</c>): a value below 1 is a share of
/// the run's optimizer steps, resolved as <c>TrainerState.compute_steps</c> does; whole numbers are steps.
/// </summary>
public static class StepRatio
{
    /// <summary>
    /// Whether <paramref name="value"/> is a whole number of steps ≥ 1, a ratio in (0, 1), or (with
    /// <paramref name="allowZero"/>) 0.
    /// </summary>
    public static bool IsValid(double value, bool allowZero) =>
        (value >= 1 && value == Math.Floor(value) && !double.IsInfinity(value) && value <= long.MaxValue) || value is > 0 and < 1 || (allowZero && value == 0);

    /// <summary>
    /// <paramref name="value"/> resolved against a run of <paramref name="totalSteps"/> optimizer steps:
    /// <c>math.ceil(max_steps * ratio)</c> in doubles as Python's floats (0.25 of 10 steps is 3) for a ratio, else unchanged.
    /// </summary>
    public static double Resolve(double value, long totalSteps) => value is > 0 and < 1 ? Math.Ceiling(totalSteps * value) : value;
}
