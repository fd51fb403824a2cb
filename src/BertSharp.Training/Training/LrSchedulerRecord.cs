using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// The schedule a run records (fine-tuning's training_args.json, pre-training's trainer_state.json) under HF's
/// TrainingArguments names, and the check that a resume keeps it, for both run types.
/// </summary>
internal static class LrSchedulerRecord
{
    public const string TypeKey = "lr_scheduler_type";
    public const string KwargsKey = "lr_scheduler_kwargs";

    /// <summary>The keys <see cref="TrainerState.CheckResumable"/> leaves to <see cref="Check"/>: older checkpoints lack them.</summary>
    public static readonly string[] Keys = [TypeKey, KwargsKey];

    /// <summary>Sets the two keys of <paramref name="settings"/>: kwargs as HF writes them, <c>{}</c> when none.</summary>
    public static void Write(JsonObject settings, string type, JsonObject? kwargs)
    {
        settings[TypeKey] = type;
        settings[KwargsKey] = kwargs?.DeepClone() ?? new JsonObject();
    }

    /// <summary>The type recorded in <paramref name="settings"/>; a checkpoint from before the scheduler was recorded trained linearly.</summary>
    public static string Type(JsonObject settings, string file)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings[TypeKey] switch
        {
            null => LearningRateSchedule.DefaultType,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => throw new BertSharpException($"{file}: setting '{TypeKey}' is {other.ToJsonString()}; expected a string."),
        };
    }

    /// <summary>The kwargs recorded in <paramref name="settings"/>, null when none.</summary>
    public static JsonObject? Kwargs(JsonObject settings, string file)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings[KwargsKey] switch
        {
            null => null,
            JsonObject o => o.Count == 0 ? null : o.DeepClone().AsObject(),
            var other => throw new BertSharpException($"{file}: setting '{KwargsKey}' is {other.ToJsonString()}; expected a JSON object."),
        };
    }

    /// <summary>Throws, in one line, when <paramref name="current"/> schedules otherwise than the checkpoint's <paramref name="saved"/>.</summary>
    public static void Check(JsonObject saved, JsonObject current, string checkpoint)
    {
        var file = Path.Combine(checkpoint, TrainerState.FileName);
        // The same schedule, however its arguments are spelled: {"power": 2, "lr_end": 0} and {"lr_end": 0.0, "power": 2.0}
        // give the same learning rates, and so do {} and polynomial's defaults written out, so the arguments count as the
        // values the schedule runs with, not as written.
        if (Type(saved, file) != Type(current, file) || !JsonNode.DeepEquals(Resolved(saved, file), Resolved(current, file)))
        {
            throw new BertSharpException($"{checkpoint}: cannot resume: the run was trained with {Describe(saved, file)}, but this one has {Describe(current, file)}; resume with the same scheduler.");
        }
    }

    private static JsonObject Resolved(JsonObject settings, string file) =>
        LearningRateSchedule.ResolvedKwargs(Type(settings, file), Kwargs(settings, file), TrainLog.Number(settings, "learning_rate"));

    private static string Describe(JsonObject settings, string file) =>
        $"{BertSharpException.Field(TypeKey)} {Type(settings, file)}"
        + (Kwargs(settings, file) is { } kw ? $" and {BertSharpException.Field(KwargsKey)} {kw.ToJsonString()}" : "");
}
