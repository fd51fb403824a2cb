using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.IO;
using TorchSharp;
using static BertSharp.Training.ModelCardFormat;

namespace BertSharp.Training;

/// <summary>What a fine-tuned model's card is made from: the run's own records, as HF's <c>TrainingSummary.from_trainer</c> takes them from the Trainer.</summary>
/// <param name="ModelName">The model's name: the output directory's (HF: <c>Path(output_dir).name</c>).</param>
/// <param name="Model">The <c>--model</c> the run started from as typed (a Hub id or a directory), or null for a model trained from a config.</param>
/// <param name="Task">The task's name (<c>training_args.json</c>'s <c>task</c>).</param>
/// <param name="Args">The run's <c>training_args.json</c>.</param>
/// <param name="WarmupRatio">The warmup as a fraction of the steps when given so (<c>training_args.json</c> holds the steps it came to).</param>
/// <param name="Log">The run's <c>train_log.jsonl</c> entries.</param>
/// <param name="Metrics">The published weights' <c>metrics.json</c>, or null without validation.</param>
/// <param name="Config">The model's <c>config.json</c> as written.</param>
/// <param name="Devices">The data-parallel ranks of the invocation that finished the run (1: one process).</param>
internal sealed record ModelCardFacts(string ModelName, string? Model, string Task, JsonObject Args, double? WarmupRatio,
    IReadOnlyList<JsonObject> Log, JsonObject? Metrics, JsonObject Config, int Devices);

/// <summary>A task as modelcard.py's TASK_TAG_TO_NAME_MAPPING names it, with the transformers Auto class that loads its model.</summary>
internal sealed record ModelCardTask(string Tag, string Name, string AutoClass);

/// <summary>A Hub dataset a card names (its tag, the config as its args, the name the text uses).</summary>
internal sealed record ModelCardDataset(string Tag, string? Args, string Name);

/// <summary>
/// A card's parts, whatever run made it (fine-tuning: <see cref="ModelCard.ForFineTuning"/>; pre-training:
/// <c>PretrainingModelCard</c>), as TrainingSummary holds them.
/// </summary>
/// <param name="ModelName">The model-index name and the heading (HF: the output directory's name).</param>
/// <param name="Model">The model the run started from as recorded (a Hub id, which becomes <c>base_model</c>, or a directory), or null from scratch.</param>
/// <param name="Task">The task the front matter and the model-index name.</param>
/// <param name="Dataset">The Hub dataset trained on, or null for a user's file.</param>
/// <param name="DataName">What "on the ... dataset" says without a Hub dataset (the data's file or directory name).</param>
/// <param name="Results">The final evaluation's metrics in order (log keys), or none.</param>
/// <param name="Description">The "Model description" section's text.</param>
/// <param name="Uses">The "Intended uses &amp; limitations" section's text.</param>
/// <param name="Data">The "Training and evaluation data" section's text.</param>
/// <param name="Hyperparameters">extract_hyperparameters_from_trainer's list, HF-named.</param>
/// <param name="ResultsTable">The "Training results" table (<see cref="ModelCard.ResultsTable(IReadOnlyList{ModelCardRow})"/>), or "".</param>
internal sealed record ModelCardContent(string ModelName, string? Model, ModelCardTask Task, ModelCardDataset? Dataset, string DataName,
    IReadOnlyList<(string Key, double Value)> Results, string Description, string Uses, string Data,
    IReadOnlyList<(string Name, string Value)> Hyperparameters, string ResultsTable);

/// <summary>One evaluation's row of the results table, as parse_log_history makes one per <c>eval_loss</c> entry.</summary>
/// <param name="TrainingLoss">The training loss logged last before the evaluation.</param>
/// <param name="Epoch">The epoch as the Trainer logs it (a float: 1.0, or a fraction of the data seen).</param>
/// <param name="Step">The optimizer step.</param>
/// <param name="Metrics">The evaluation's metrics by log key, <c>loss</c> among them.</param>
internal sealed record ModelCardRow(double TrainingLoss, double Epoch, long Step, JsonObject Metrics);

/// <summary>
/// The model card (<c>README.md</c>) of a fine-tuned or pre-trained model directory, as HF's Trainer writes one
/// (<c>create_model_card</c>, modelcard.py's <c>TrainingSummary.to_model_card</c>): YAML front matter the Hub reads (library,
/// base model, tags, datasets, metrics, model-index with the final validation results), then the description, the training
/// data, the hyperparameters, a table of the evaluations' losses and metrics, and the framework versions. Where HF leaves
/// "More information needed", the card says what the run recorded.
/// </summary>
internal static class ModelCard
{
    /// <summary>The card's file name in a model directory (the Hub shows it as the model's page).</summary>
    public const string FileName = "README.md";

    // modelcard.py's TASK_TAG_TO_NAME_MAPPING, for the tasks BertSharp fine-tunes, with the transformers Auto class that loads each.
    private static readonly Dictionary<string, ModelCardTask> Tasks = new()
    {
        ["ner"] = new("token-classification", "Token Classification", "AutoModelForTokenClassification"),
        ["squad"] = new("question-answering", "Question Answering", "AutoModelForQuestionAnswering"),
        ["swag"] = new("multiple-choice", "Multiple Choice", "AutoModelForMultipleChoice"),
    };

    private static readonly ModelCardTask SequenceClassification = new("text-classification", "Text Classification", "AutoModelForSequenceClassification");

    // The Hub datasets the built-in tasks read (run_glue.py names GLUE's as dataset "glue" with the task as its args and
    // "GLUE SST2" as its name); a user's file names no Hub dataset, and HF then leaves the model-index without results.
    private static readonly Dictionary<string, ModelCardDataset> Datasets = new()
    {
        ["imdb"] = new("imdb", null, "imdb"),
        ["cola"] = new("glue", "cola", "GLUE COLA"),
        ["sst2"] = new("glue", "sst2", "GLUE SST2"),
        ["mrpc"] = new("glue", "mrpc", "GLUE MRPC"),
    };

    // modelcard.py's METRIC_TAGS for the metrics BertSharp computes under other names (mcc is evaluate's matthews_correlation).
    private static readonly Dictionary<string, string> MetricTags = new()
    {
        ["accuracy"] = "accuracy",
        ["f1"] = "f1",
        ["precision"] = "precision",
        ["recall"] = "recall",
        ["mcc"] = "matthews_correlation",
        ["pearson"] = "pearsonr",
        ["spearman"] = "spearmanr",
    };

    /// <summary>Writes the card into <paramref name="dir"/> (a model directory being filled) atomically.</summary>
    public static void Write(string dir, ModelCardFacts facts) => Write(dir, ForFineTuning(facts));

    /// <summary>Writes the card into <paramref name="dir"/> (a model directory being filled) atomically.</summary>
    public static void Write(string dir, ModelCardContent content) => AtomicFile.WriteAllText(Path.Combine(dir, FileName), Render(content, Versions()));

    /// <summary>A fine-tuned model's card parts, from the run's files.</summary>
    public static ModelCardContent ForFineTuning(ModelCardFacts f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var task = Tasks.GetValueOrDefault(f.Task, SequenceClassification);
        var results = f.Metrics?["metrics"] is JsonObject values ? values.Select(kv => (kv.Key, TrainLog.Number(values, kv.Key))).ToList() : [];
        return new ModelCardContent(f.ModelName, f.Model, task, Datasets.GetValueOrDefault(f.Task), FileNameOf(f.Args, "data") ?? "unknown", results,
            Description(f, task), Uses(f, task), DataText(f), [.. Hyperparameters(f.Args, f.WarmupRatio, f.Devices), ("num_epochs", Int(f.Args, "epochs")), .. MixedPrecisionTraining(f.Args), .. LabelSmoothing(f.Args)], ResultsTable(EpochRows(f.Log)));
    }

    /// <summary>
    /// A fine-tuning log's rows: each epoch that validated, with the mean of its steps' losses as its training loss, or with
    /// --eval-steps each step validation, with HF's fractional epoch and the mean loss of the steps since the one before.
    /// </summary>
    internal static IReadOnlyList<ModelCardRow> EpochRows(IReadOnlyList<JsonObject> log) =>
        [.. log.Where(e => TrainLog.TypeOf(e) is "epoch" or "eval" && e["validation"] is JsonObject)
            .Select(e => new ModelCardRow(TrainLog.Number(e, "train_loss"), TrainLog.Number(e, "epoch"), TrainLog.StepOf(e), (JsonObject)e["validation"]!))];

    /// <summary>The card's text; <paramref name="versions"/> are the framework versions' lines (name, version).</summary>
    public static string Render(ModelCardContent f, IReadOnlyList<(string Name, string Version)> versions)
    {
        ArgumentNullException.ThrowIfNull(f);
        var task = f.Task;
        var dataset = f.Dataset;
        var results = f.Results;
        // from_trainer takes config._name_or_path as the base model unless it is a local directory: only a Hub id is one.
        var hubBase = f.Model is { } m && ModelLocator.IsHubId(m) ? m : null;

        var sb = new StringBuilder("---\n");
        // "transformers", as HF's Trainer writes: the directory is a transformers checkpoint (config.json, model.safetensors,
        // tokenizer files) that from_pretrained loads, and the Hub picks its loading snippet and inference widget by this
        // key; no BertSharp library exists on the Hub. The tag below says which tool made it.
        sb.Append("library_name: transformers\n");
        if (hubBase is not null)
        {
            sb.Append("base_model: ").Append(YamlString(hubBase)).Append('\n');
        }
        sb.Append("tags:\n- generated_from_bertsharp\n");
        if (dataset is { } ds)
        {
            sb.Append("datasets:\n- ").Append(YamlString(ds.Tag)).Append('\n');
        }
        var tagged = results.Where(r => MetricTags.ContainsKey(r.Key)).ToList();
        if (tagged.Count > 0)
        {
            sb.Append("metrics:\n");
            foreach (var (key, _) in tagged)
            {
                sb.Append("- ").Append(MetricTags[key]).Append('\n');
            }
        }
        sb.Append("model-index:\n- name: ").Append(YamlString(f.ModelName)).Append('\n');
        // modelcard.py drops a result without a task, a dataset or metrics ("to avoid the model card being rejected"); a
        // metric without a value (null in metrics.json) is left out, as the Hub takes only numbers.
        var scored = tagged.Where(r => double.IsFinite(r.Value)).ToList();
        if (dataset is { } rd && scored.Count > 0)
        {
            sb.Append("  results:\n  - task:\n      name: ").Append(YamlString(task.Name)).Append("\n      type: ").Append(task.Tag).Append('\n');
            sb.Append("    dataset:\n      name: ").Append(YamlString(rd.Name)).Append("\n      type: ").Append(YamlString(rd.Tag)).Append('\n');
            if (rd.Args is { } a)
            {
                sb.Append("      args: ").Append(YamlString(a)).Append('\n');
            }
            sb.Append("    metrics:\n");
            foreach (var (key, value) in scored)
            {
                sb.Append("    - name: ").Append(YamlString(MetricName(key))).Append("\n      type: ").Append(MetricTags[key])
                    .Append("\n      value: ").Append(PythonRepr(value)).Append('\n');
            }
        }
        else
        {
            sb.Append("  results: []\n");
        }
        sb.Append("---\n\n<!-- This model card has been generated automatically according to the information BertSharp had access to. You\n")
            .Append("should probably proofread and complete it, then remove this comment. -->\n");

        sb.Append("\n# ").Append(f.ModelName).Append("\n\n");
        sb.Append(hubBase is not null ? $"This model is a fine-tuned version of [{hubBase}](https://huggingface.co/{hubBase}) on "
            : f.Model is { } local ? $"This model is a fine-tuned version of `{Path.GetFileName(Path.TrimEndingDirectorySeparator(local))}` (a local model) on "
            : "This model was trained from scratch on ");
        sb.Append("the ").Append(dataset?.Name ?? f.DataName).Append(" dataset.");
        if (results.Count > 0)
        {
            sb.Append("\nIt achieves the following results on the evaluation set:\n");
            sb.Append(string.Join('\n', results.Select(r => $"- {MetricName(r.Key)}: {MaybeRound(r.Key, r.Value)}")));
        }
        sb.Append('\n');

        sb.Append("\n## Model description\n\n").Append(f.Description).Append('\n');
        sb.Append("\n## Intended uses & limitations\n\n").Append(f.Uses).Append('\n');
        sb.Append("\n## Training and evaluation data\n\n").Append(f.Data).Append('\n');
        sb.Append("\n## Training procedure\n\n### Training hyperparameters\n\nThe following hyperparameters were used during training:\n");
        sb.Append(string.Join('\n', f.Hyperparameters.Select(h => $"- {h.Name}: {h.Value}"))).Append('\n');
        sb.Append("\n### Training results\n\n").Append(f.ResultsTable).Append('\n');
        sb.Append("\n### Framework versions\n\n");
        foreach (var (name, version) in versions)
        {
            sb.Append("- ").Append(name).Append(' ').Append(version).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The results table: one row per evaluation, as parse_log_history makes one per <c>eval_loss</c> entry — the training
    /// loss logged before it, the epoch (a float, as the Trainer logs it), the step, the validation loss and the other
    /// metrics in the log's order, each cell through <see cref="ModelCardFormat.MaybeRound(string, double)"/>; "" without evaluations.
    /// </summary>
    internal static string ResultsTable(IReadOnlyList<ModelCardRow> evaluations)
    {
        if (evaluations.Count == 0)
        {
            return "";
        }
        var metricKeys = evaluations[0].Metrics.Select(kv => kv.Key).ToList();
        var header = new List<string> { "Training Loss", "Epoch", "Step" };
        header.AddRange(metricKeys.Select(k => k == "loss" ? "Validation Loss" : MetricName(k)));
        var rows = evaluations.Select(e =>
        {
            IReadOnlyList<string> row =
            [
                MaybeRound(e.TrainingLoss), MaybeRound(e.Epoch), e.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. metricKeys.Select(k => MaybeRound(k, e.Metrics[k] is null ? double.NaN : TrainLog.Number(e.Metrics, k))),
            ];
            return row;
        }).ToList();
        // Validation Loss right after Step, where the Trainer's eval_loss lands.
        var loss = metricKeys.IndexOf("loss");
        if (loss > 0)
        {
            header.Insert(3, header[3 + loss]);
            header.RemoveAt(4 + loss);
            rows = [.. rows.Select(r => (IReadOnlyList<string>)[.. r.Take(3), r[3 + loss], .. r.Skip(3).Where((_, i) => i != loss)])];
        }
        return MarkdownTable(header, rows);
    }

    /// <summary>
    /// extract_hyperparameters_from_trainer's list from a run's recorded settings (fine-tuning's training_args.json,
    /// pre-training's trainer state), up to the warmup: the caller adds <c>num_epochs</c> or <c>training_steps</c>.
    /// </summary>
    /// <param name="a">The settings: learning_rate, batch_size, per_device_eval_batch_size (when recorded), seed, gradient_accumulation_steps, adam_epsilon, warmup_steps.</param>
    /// <param name="warmupRatio">The warmup as a fraction of the steps when it was given so.</param>
    /// <param name="devices">The data-parallel ranks of the invocation that finished the run (1: one process).</param>
    internal static List<(string Name, string Value)> Hyperparameters(JsonObject a, double? warmupRatio, int devices)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(devices, 1);
        var batch = (long)TrainLog.Number(a, "batch_size");
        var accum = (long)TrainLog.Number(a, "gradient_accumulation_steps");
        // HF's train_batch_size is per device; BertSharp's batch_size is the global batch, which the ranks split with slices
        // that differ by at most one (DataSharding), so a device held at most the larger slice. The total is the batch the
        // optimizer stepped on, as HF's per device × devices × accumulation is when the split is even.
        var perDevice = (batch + devices - 1) / devices;
        var totalTrain = batch * accum;
        var list = new List<(string, string)>
        {
            ("learning_rate", PythonRepr(TrainLog.Number(a, "learning_rate"))),
            ("train_batch_size", Text(perDevice)),
            // Rank 0 validates alone (FineTuneHooks, PretrainingTrainer), so its batch is the device's.
            ("eval_batch_size", EvalBatchSize(a)),
            ("seed", Int(a, "seed")),
        };
        if (devices > 1)
        {
            // HF writes "multi-GPU" for every DistributedDataParallel run, CPU ones included; these ranks are CPU processes
            // joined by Open MPI (the NCCL backend is not wired into training), which accelerate names MULTI_CPU, written
            // here in the card's spelling.
            list.Add(("distributed_type", "multi-CPU"));
            list.Add(("num_devices", Text(devices)));
        }
        if (accum > 1)
        {
            list.Add(("gradient_accumulation_steps", Int(a, "gradient_accumulation_steps")));
        }
        if (totalTrain != perDevice)
        {
            list.Add(("total_train_batch_size", Text(totalTrain)));
        }
        if (devices > 1)
        {
            // HF's eval × devices always differs from eval on several devices, so HF always writes it then; here one device
            // evaluated the whole batch, so the total is that batch, written so that a reader does not multiply by num_devices.
            list.Add(("total_eval_batch_size", EvalBatchSize(a)));
        }
        list.Add(("optimizer", $"Use adamw_torch with betas=(0.9,0.999) and epsilon={PythonRepr(TrainLog.Number(a, "adam_epsilon"))} and optimizer_args=No additional optimizer arguments"));
        // The model card is written from settings the run has already checked, so the file named here is never shown.
        list.Add(("lr_scheduler_type", LrSchedulerRecord.Type(a, "the run's settings")));
        if (warmupRatio is { } r && r != 0)
        {
            list.Add(("lr_scheduler_warmup_ratio", PythonRepr(r)));
        }
        else if (TrainLog.Number(a, "warmup_steps") != 0)
        {
            list.Add(("lr_scheduler_warmup_steps", Int(a, "warmup_steps")));
        }
        return list;
    }

    /// <summary>
    /// extract_hyperparameters_from_trainer's entry after the steps or epochs: HF writes "Native AMP" for torch.amp (it
    /// names fp16 only); the dtype is added, since bf16 is the only one BertSharp has.
    /// </summary>
    internal static IEnumerable<(string Name, string Value)> MixedPrecisionTraining(JsonObject a) =>
        a["bf16"] is JsonValue v && v.TryGetValue<bool>(out var on) && on ? [("mixed_precision_training", "Native AMP (bf16)")] : [];

    // extract_hyperparameters_from_trainer lists it after num_epochs, only when not 0.
    private static IEnumerable<(string Name, string Value)> LabelSmoothing(JsonObject a) =>
        a["label_smoothing_factor"] is null ? [] : [("label_smoothing_factor", PythonRepr(TrainLog.Number(a, "label_smoothing_factor")))];

    private static string Text(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A whole-number setting as Python prints an int; seeds beyond 2^53 exactly, not through a double.</summary>
    // Runs recorded before the validation batch size was validated at the training batch size.
    private static string EvalBatchSize(JsonObject a) => Int(a, a.ContainsKey(TrainingArgs.EvalBatchSizeKey) ? TrainingArgs.EvalBatchSizeKey : "batch_size");

    internal static string Int(JsonObject a, string key) => a[key] is JsonValue v && v.TryGetValue<long>(out var n)
        ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : ((long)TrainLog.Number(a, key)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>BertSharp and what it runs on, in place of Transformers, Pytorch, Datasets and Tokenizers.</summary>
    internal static IReadOnlyList<(string Name, string Version)> Versions() =>
    [
        ("BertSharp", VersionOf(typeof(ModelCard).Assembly)),
        ("TorchSharp", VersionOf(typeof(torch).Assembly)),
        ("libtorch", TorchVersion(torch.__version__)),
        (".NET", Environment.Version.ToString()),
    ];

    // The package version without SourceLink's "+commit".
    private static string VersionOf(Assembly assembly)
    {
        var v = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var plus = v.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? v : v[..plus];
    }

    private static string Description(ModelCardFacts f, ModelCardTask task)
    {
        var c = f.Config;
        var architecture = c["architectures"] is JsonArray { Count: > 0 } arch ? arch[0]!.GetValue<string>() : "BERT";
        var start = f.Log.FirstOrDefault(e => TrainLog.TypeOf(e) == "start");
        var parameters = start is null ? "" : Invariant($", {(long)TrainLog.Number(start, "parameters"):N0} parameters");
        var text = Invariant($"A {architecture} ({(long)TrainLog.Number(c, "num_hidden_layers")} layers, hidden size {(long)TrainLog.Number(c, "hidden_size")}{parameters}) ")
            + $"fine-tuned for {task.Name.ToLowerInvariant()} (BertSharp task `{f.Task}`).";
        if (c["id2label"] is JsonObject labels && f.Args["regression"]?.GetValue<bool>() != true && task.Tag != "multiple-choice" && task.Tag != "question-answering")
        {
            text += " Labels: " + string.Join(", ", labels.OrderBy(kv => int.Parse(kv.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(kv => kv.Value!.GetValue<string>())) + ".";
        }
        return text;
    }

    private static string Uses(ModelCardFacts f, ModelCardTask task)
    {
        var text = Invariant($"transformers' `{task.AutoClass}.from_pretrained` loads this directory, and so do BertSharp's `bert predict` and `bert serve`. ")
            + Invariant($"It was trained on inputs of up to {(long)TrainLog.Number(f.Args, "max_length")} word pieces; longer ones were cut.");
        if (f.Config["classifier_pooling"]?.GetValue<string>() == "mean")
        {
            text += " Its classifier reads the mean of the last hidden states (`classifier_pooling: mean`), which transformers' "
                + "BertForSequenceClassification ignores: it predicts as trained only in BertSharp or through its ONNX export.";
        }
        return text;
    }

    private static string DataText(ModelCardFacts f)
    {
        var start = f.Log.FirstOrDefault(e => TrainLog.TypeOf(e) == "start");
        string Count(string key) => start is null ? "" : Invariant($" ({(long)TrainLog.Number(start, key):N0} examples)");
        var text = $"Training: `{FileNameOf(f.Args, "data")}`{Count("train_examples")}. ";
        if (FileNameOf(f.Args, "eval_data") is { } eval)
        {
            return text + $"Validation: `{eval}`{Count("validation_examples")}.";
        }
        if (start is not null && TrainLog.Number(start, "validation_examples") > 0)
        {
            return text + $"Validation: {Count("validation_examples").Trim(' ', '(', ')')} held out of the training file (`{f.Args["split"]?.GetValue<string>()}` split).";
        }
        return text + "No validation data.";
    }

    private static string? FileNameOf(JsonObject args, string key) => args[key] is JsonValue v && v.TryGetValue<string>(out var p) ? Path.GetFileName(p) : null;
}
