namespace BertSharp.Training;

/// <summary>
/// The refusals of a save_best metric, in one wording for sequence classification (<see cref="FineTuner"/>) and the task
/// heads (<see cref="HeadFineTuner"/>): both are checked before anything is written, as a metric the validation does not
/// report would stop the run only at the first epoch's end.
/// </summary>
internal static class SaveBestMetric
{
    /// <summary>Whether a lower <paramref name="metric"/> is better (a loss); for every other metric a higher one is.</summary>
    public static bool LowerIsBetter(string metric) => metric is "loss" or "mse";

    /// <summary>Refuses <paramref name="metric"/> when it is not one of <paramref name="names"/>; <paramref name="whose"/> (" (…)" or "") says whose list it is.</summary>
    public static void RequireKnown(string metric, IReadOnlyList<string> names, string whose = "")
    {
        if (!names.Contains(metric))
        {
            throw new BertSharpException($"{BertSharpException.Field("save_best")} {metric}: expected one of {string.Join(", ", names)}{whose}.");
        }
    }

    /// <summary>Refuses <paramref name="metric"/> without validation data; <paramref name="source"/> says where the run could get it.</summary>
    public static void RequireValidation(string metric, bool hasValidation, string source)
    {
        if (!hasValidation)
        {
            throw new BertSharpException($"{BertSharpException.Field("save_best")} {metric}: needs validation data ({source}).");
        }
    }
}
