using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// The settings a fine-tuning records (<see cref="Checkpoints.TrainingArgsFile"/>) and must be resumed with: one writer for
/// sequence classification and the task heads — the shared settings (<see cref="TrainingOptions"/>) under HF's names, then
/// the task's own. The keys are those earlier versions wrote, so their checkpoints still resume.
/// </summary>
internal static class TrainingArgs
{
    /// <summary>The validation batch size's key, HF's TrainingArguments name (fine-tuning's training_args.json, pre-training's trainer state).</summary>
    public const string EvalBatchSizeKey = "per_device_eval_batch_size";

    /// <summary>Whether training and validation batches were grouped by length (false: file order, HF's eval_loss); absent in a head's file when on.</summary>
    public const string BucketByLengthKey = "bucket_by_length";

    /// <summary>The run's settings: <c>task</c>, the shared ones as run (effective epochs, batch size, length, warmup) and <paramref name="taskArgs"/>.</summary>
    public static JsonObject Of(string task, TrainingOptions t, int epochs, int batchSize, int maxLength, int warmup, long totalSteps, JsonObject taskArgs)
    {
        var args = new JsonObject
        {
            ["task"] = task,
            ["data"] = Path.GetFullPath(t.DataPath),
            ["eval_data"] = t.EvalDataPath is null ? null : Path.GetFullPath(t.EvalDataPath),
            ["model"] = t.ModelDir,
            ["config"] = t.ConfigPreset,
            ["vocab"] = t.VocabPath is null ? null : Path.GetFullPath(t.VocabPath),
            ["lowercase"] = t.Lowercase,
            ["epochs"] = epochs,
            ["batch_size"] = batchSize,
            ["learning_rate"] = t.LearningRate,
            ["adam_epsilon"] = t.Eps,
            ["weight_decay"] = t.WeightDecay,
            ["warmup_steps"] = warmup,
            ["total_steps"] = totalSteps,
            ["max_length"] = maxLength,
            ["gradient_accumulation_steps"] = t.GradAccum,
            ["max_grad_norm"] = t.MaxGradNorm,
            ["seed"] = t.Seed,
            ["freeze_encoder"] = t.FreezeEncoder,
            ["freeze_layers"] = t.FreezeLayers,
        };
        // HF's TrainingArguments records save_steps; resolved from a ratio by now (TrainingOptions.StepsResolvedFor). A resume
        // may change it (ResumeSettings): checkpoints decide nothing the run computes.
        args["save_steps"] = (long)t.SaveSteps;
        // HF's TrainingArguments name too; after the keys earlier versions wrote, which validated at the training batch size.
        args[EvalBatchSizeKey] = t.EffectiveEvalBatchSize(batchSize);
        LrSchedulerRecord.Write(args, t.LrSchedulerType, t.LrSchedulerKwargs);
        // Only with early stopping, so that the keys of a run without it are those earlier versions wrote (an absent key
        // compares as null: a checkpoint without them resumes, and one with them refuses a resume that drops them).
        if (t.EarlyStoppingPatience is { } patience)
        {
            args["early_stopping_patience"] = patience;
            args["early_stopping_threshold"] = t.EarlyStoppingThreshold ?? 0;
        }
        // HF's name; only when on, for the same reason (a resume that adds or drops it is refused as a changed setting).
        if (t.Bf16)
        {
            args["bf16"] = true;
        }
        // HF's name; only when smoothing, for the same reason (a resume that adds or drops it is refused as a changed setting).
        if (t.LabelSmoothing != 0)
        {
            args["label_smoothing_factor"] = t.LabelSmoothing;
        }
        // As HF names them, only with --eval-steps, for the same reason: a run validating at epoch ends records what it always did.
        if (t.EvalSteps is { } evalSteps)
        {
            args["eval_strategy"] = "steps";
            // Resolved from a ratio by now (TrainingOptions.StepsResolvedFor): the steps, an integer as HF's state holds them.
            args["eval_steps"] = (long)evalSteps;
        }
        foreach (var (k, v) in taskArgs)
        {
            args[k] = v?.DeepClone();
        }
        return args;
    }

    /// <summary>Sequence classification's settings (<see cref="FineTuneOptions"/> beyond the shared ones).</summary>
    public static JsonObject Of(FineTuneOptions o, int warmup, long totalSteps, int maxLength, bool exampleDropout = false)
    {
        var own = new JsonObject
        {
            ["text_column"] = o.Task.TextColumn,
            ["text_pair_column"] = o.Task.TextPairColumn,
            ["label_column"] = o.Task.LabelColumn,
            ["regression"] = o.Task.Regression,
            ["truncation_side"] = Tokenization.TruncationSides.Name(o.TruncationSide),
            ["head_tokens"] = o.HeadTokens,
            ["pooling"] = o.Pooling,
            ["val_size"] = o.Training.EvalDataPath is null ? o.ValSize : null,
            ["split"] = o.Training.EvalDataPath is null ? o.EffectiveSplit.ToString().ToLowerInvariant() : null,
            [BucketByLengthKey] = o.BucketByLength,
            ["save_best"] = o.SaveBest,
        };
        // Only when on, so that checkpoints written before the setting existed still resume.
        if (exampleDropout)
        {
            own["example_dropout"] = true;
        }
        return Of(o.Task.Name, o.Training, o.EffectiveEpochs, o.EffectiveBatchSize, maxLength, warmup, totalSteps, own);
    }
}
