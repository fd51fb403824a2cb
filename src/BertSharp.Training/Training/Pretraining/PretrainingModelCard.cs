using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Modeling;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// The parts of a pre-trained model's card (<see cref="ModelCard"/>), as HF's run_mlm.py ends with
/// <c>trainer.create_model_card(finetuned_from=model_name_or_path, tasks="fill-mask")</c>: the fill-mask task, the base model
/// when the run continued a Hub model, the last held-out evaluation as the results (with run_mlm's perplexity, the exponential
/// of its masked-LM loss), a row per evaluation, and <c>training_steps</c>, as a run with <c>max_steps</c> reports it.
/// </summary>
internal static class PretrainingModelCard
{
    // modelcard.py's TASK_TAG_TO_NAME_MAPPING["fill-mask"]; the NSP head of BertForPreTraining has no task of its own there.
    private static readonly ModelCardTask FillMask = new("fill-mask", "Masked Language Modeling", "AutoModelForMaskedLM");

    // TrainLog's own fields of an eval entry; the rest are its metrics.
    private static readonly string[] EntryFields = ["type", "step"];

    /// <summary>The card of the run's final model.</summary>
    /// <param name="modelName">The run's output directory name (HF: <c>Path(output_dir).name</c>; the model itself is its <c>final/</c>).</param>
    /// <param name="settings">The run's settings as its checkpoints record them (the source, data directory and hyperparameters).</param>
    /// <param name="log">The run's <c>train_log.jsonl</c> entries, the kept ones of a resumed run included.</param>
    /// <param name="architecture">The saved class (BertForMaskedLM or BertForPreTraining).</param>
    /// <param name="config">The model's config.</param>
    /// <param name="parameters">The model's parameter count.</param>
    /// <param name="maxSeqLength">The instances' length (the data's max_seq_length).</param>
    /// <param name="devices">The data-parallel ranks of the invocation that finished the run (1: one process).</param>
    public static ModelCardContent Content(string modelName, JsonObject settings, IReadOnlyList<JsonObject> log, string architecture, BertConfig config,
        long parameters, int maxSeqLength, int devices)
    {
        var model = settings["source"]?["model"]?.GetValue<string>();
        var withNsp = architecture == nameof(BertForPreTraining);
        var start = log.FirstOrDefault(e => TrainLog.TypeOf(e) == "start");
        var trainInstances = start is null ? double.NaN : TrainLog.Number(start, "train_instances");
        var evals = log.Where(e => TrainLog.TypeOf(e) == "eval").ToList();
        var rows = evals.Select(e =>
        {
            // The step's own train entry precedes its evaluation: its loss and the Trainer's fractional epoch, which a line
            // written before train lines carried it gives as the data seen over the training instances.
            var step = TrainLog.StepOf(e);
            var train = log.LastOrDefault(t => TrainLog.TypeOf(t) == "train" && TrainLog.StepOf(t) <= step);
            var epoch = train is null ? double.NaN : TrainLog.Number(train, "epoch");
            return new ModelCardRow(train is null ? double.NaN : TrainLog.Number(train, "loss"),
                double.IsFinite(epoch) || train is null ? epoch : TrainLog.Number(train, "data_position") / trainInstances, step, Metrics(e));
        }).ToList();
        List<(string Key, double Value)> results = [];
        if (evals.Count > 0)
        {
            var last = Metrics(evals[^1]);
            results = [.. last.Select(kv => (kv.Key, TrainLog.Number(last, kv.Key)))];
            // run_mlm's perplexity is exp(eval_loss), its loss the masked LM's alone; with NSP the loss is the sum of both, so
            // the masked LM's is taken.
            results.Add(("perplexity", PretrainingLogEntry.From(evals[^1]).Perplexity));
        }
        var dataName = Path.GetFileName(Path.TrimEndingDirectorySeparator(settings["data_directory"]?.GetValue<string>() ?? "unknown"));
        var hyperparameters = ModelCard.Hyperparameters(settings, settings["warmup_ratio"] is null ? null : TrainLog.Number(settings, "warmup_ratio"), devices);
        hyperparameters.Add(("training_steps", ModelCard.Int(settings, "steps")));
        hyperparameters.AddRange(ModelCard.MixedPrecisionTraining(settings));
        return new ModelCardContent(modelName, model, FillMask, null, dataName, results,
            Description(architecture, config, parameters, model, withNsp), Uses(withNsp, maxSeqLength), DataText(dataName, start,
                // A run on data with a held-out split may start without evaluation and resume with it.
                log.LastOrDefault(e => TrainLog.TypeOf(e) is "start" or "resume" && TrainLog.Number(e, "eval_instances") > 0)),
            hyperparameters, ModelCard.ResultsTable(rows));
    }

    private static JsonObject Metrics(JsonObject entry) =>
        new([.. entry.Where(kv => !EntryFields.Contains(kv.Key)).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))]);

    private static string Description(string architecture, BertConfig c, long parameters, string? model, bool withNsp)
    {
        var how = model is null ? "pre-trained from scratch" : $"further pre-trained from `{ModelName(model)}`";
        return Invariant($"A {architecture} ({c.NumHiddenLayers} layers, hidden size {c.HiddenSize}, {parameters:N0} parameters) {how} with ")
            + (withNsp ? "masked language modelling and next-sentence prediction" : "masked language modelling")
            + " (BertSharp `bert pretrain`), a starting point for fine-tuning (`bert finetune --model`).";
    }

    // A Hub id as typed; a directory by its name, as the card's fine-tuned-from line says a local model.
    private static string ModelName(string model) =>
        ModelLocator.IsHubId(model) ? model : Path.GetFileName(Path.TrimEndingDirectorySeparator(model));

    private static string Uses(bool withNsp, int maxSeqLength) =>
        (withNsp
            ? "transformers' `AutoModelForMaskedLM.from_pretrained` loads this directory (`BertForPreTraining.from_pretrained` with its next-sentence head), and so do BertSharp's `bert fill-mask`, `bert nsp` and `bert serve`. "
            : "transformers' `AutoModelForMaskedLM.from_pretrained` loads this directory, and so do BertSharp's `bert fill-mask` and `bert serve`. ")
        + Invariant($"It was trained on instances of up to {maxSeqLength} word pieces.");

    private static string DataText(string dataName, JsonObject? start, JsonObject? evaluated)
    {
        static string Count(JsonObject? entry, string key) => entry is null ? "" : Invariant($"{(long)TrainLog.Number(entry, key):N0} instances");
        var text = $"Training: the `bert pretrain-data` output `{dataName}`{(start is null ? "" : $" ({Count(start, "train_instances")})")}. ";
        if (evaluated is null)
        {
            return text + "No held-out evaluation.";
        }
        return evaluated[PretrainingTrainer.EvalDataKey] is not null
            ? text + $"Evaluation: the {Count(evaluated, "eval_instances")} of its held-out split `validation`, made of whole documents not trained on."
            : text + $"Evaluation: {Count(evaluated, "eval_instances")} held out of it (its last ones).";
    }
}
