using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Tokenization;

namespace BertSharp.Training;

/// <summary>The settings a fine-tuning records (training_args.json) and must be resumed with.</summary>
internal static class FineTuneArgs
{
    public static JsonObject TrainingArgs(FineTuneOptions o, int warmup, long totalSteps, int maxLength, bool exampleDropout = false)
    {
        var args = Args(o, warmup, totalSteps, maxLength);
        // Only when on, so that checkpoints written before the setting existed still resume.
        if (exampleDropout)
        {
            args["example_dropout"] = true;
        }
        return args;
    }

    private static JsonObject Args(FineTuneOptions o, int warmup, long totalSteps, int maxLength) => new()
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
        ["max_length"] = maxLength,
        ["truncation_side"] = TruncationSides.Name(o.TruncationSide),
        ["head_tokens"] = o.HeadTokens,
        ["pooling"] = o.Pooling,
        ["gradient_accumulation_steps"] = o.GradAccum,
        ["max_grad_norm"] = o.MaxGradNorm,
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["val_size"] = o.EvalDataPath is null ? o.ValSize : null,
        ["split"] = o.EvalDataPath is null ? o.EffectiveSplit.ToString().ToLowerInvariant() : null,
        ["bucket_by_length"] = o.BucketByLength,
        ["save_best"] = o.SaveBest,
        ["freeze_encoder"] = o.FreezeEncoder,
        ["freeze_layers"] = o.FreezeLayers,
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
