using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Data;

namespace BertSharp.Training;

/// <summary>What a fine-tuning reads before it trains: the data and its split, warnings about it, and the settings it records.</summary>
internal static class FineTuneInputs
{
    public static (TextDataset Train, TextDataset? Validation) ReadData(FineTuneOptions o)
    {
        var all = DatasetReader.Read(o.DataPath, o.Task);
        TextDataset train;
        TextDataset? val;
        if (o.EvalDataPath is not null)
        {
            train = all;
            val = DatasetReader.Read(o.EvalDataPath, o.Task);
        }
        else
        {
            (train, val) = DataSplit.TrainValidation(all, o.ValSize, o.ShuffleSplit, o.Seed);
        }
        if (o.MaxTrainExamples is { } mt && train.Count > mt)
        {
            train = train.With([.. train.Examples.Take(mt)]);
        }
        if (o.MaxEvalExamples is { } me && val is not null && val.Count > me)
        {
            val = val.With([.. val.Examples.Take(me)]);
        }
        return (train, val);
    }

    public static List<string> DataWarnings(FineTuneOptions o, TextDataset train, TextDataset? val)
    {
        var warnings = new List<string>();
        if (o.Task.Regression || val is null || val.Count < 2)
        {
            return warnings;
        }
        var valLabels = val.Examples.Select(e => e.Label).Distinct().ToList();
        if (valLabels.Count == 1 && train.Examples.Select(e => e.Label).Distinct().Skip(1).Any())
        {
            warnings.Add(o.EvalDataPath is null && !o.ShuffleSplit
                ? $"the validation split (the last {val.Count} examples of {o.DataPath}) holds only label '{valLabels[0]}': the file looks sorted by label; " +
                  "set shuffle_split for a random split, or give eval_data."
                : $"the validation data holds only label '{valLabels[0]}'; accuracy on it says little.");
        }
        return warnings;
    }

    public static JsonObject TrainingArgs(FineTuneOptions o, int warmup, long totalSteps) => new()
    {
        ["task"] = o.Task.Name,
        ["text_column"] = o.Task.TextColumn,
        ["text_pair_column"] = o.Task.TextPairColumn,
        ["label_column"] = o.Task.LabelColumn,
        ["regression"] = o.Task.Regression,
        ["data"] = Path.GetFullPath(o.DataPath),
        ["eval_data"] = o.EvalDataPath is null ? null : Path.GetFullPath(o.EvalDataPath),
        ["model"] = o.ModelDir,
        ["config"] = o.ConfigPreset,
        ["vocab"] = o.VocabPath is null ? null : Path.GetFullPath(o.VocabPath),
        ["lowercase"] = o.Lowercase,
        ["epochs"] = o.EffectiveEpochs,
        ["batch_size"] = o.EffectiveBatchSize,
        ["learning_rate"] = o.LearningRate,
        ["adam_epsilon"] = o.Eps,
        ["weight_decay"] = o.WeightDecay,
        ["warmup_steps"] = warmup,
        ["total_steps"] = totalSteps,
        ["max_length"] = o.EffectiveMaxLength,
        ["gradient_accumulation_steps"] = o.GradAccum,
        ["max_grad_norm"] = o.MaxGradNorm,
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["val_size"] = o.EvalDataPath is null ? o.ValSize : null,
        ["shuffle_split"] = o.ShuffleSplit,
        ["bucket_by_length"] = o.BucketByLength,
        ["save_best"] = o.SaveBest,
    };

    /// <summary>What a resumed run must share with its checkpoint: the training arguments and the data they produced.</summary>
    public static JsonObject ResumeSettings(JsonObject args, int trainExamples, int validationExamples)
    {
        var s = (JsonObject)args.DeepClone();
        s["train_examples"] = trainExamples;
        s["validation_examples"] = validationExamples;
        return s;
    }
}
