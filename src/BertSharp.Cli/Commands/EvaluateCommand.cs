using System.CommandLine;
using System.Globalization;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Training;
using Spectre.Console;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert evaluate</c>: metrics of a fine-tuned classifier on a labelled file, printed and written to metrics.json.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var data = new DataOptions("evaluate");
        var model = CommonOptions.ModelOption("A fine-tuned model directory ('bert finetune' or HF) or Hub id: a sequence classifier, or a token-classification, question-answering or multiple-choice model.");
        var dataPath = new Option<string>("--data") { Description = "Labelled data file in the task's format.", Required = true };
        var batch = CommonOptions.BatchSize<int?>(string.Create(CultureInfo.InvariantCulture,
            $"Examples per forward pass (and per group for the per-batch MCC). Default: the model's {RecordedBatchSize} (training_args.json), so that the loss is its fine-tuning's validation loss, else {CommonOptions.DefaultForwardBatchSize}."));
        var maxLength = CommonOptions.MaxLength();
        var truncationSide = CommonOptions.TruncationSide("Default: the side the model was fine-tuned with (training_args.json), else head.");
        var headTokens = CommonOptions.HeadTokens();
        var maxExamples = new Option<int?>("--max-examples") { Description = "Evaluate only the first N examples of --data." };
        var output = new Option<string?>("--output") { Description = "Where to write the metrics (JSON, written atomically); default MODEL/eval/DATA-NAME.metrics.json." };
        var perBatch = new Option<bool>("--per-batch-mcc") { Description = "Also print the MCC of each batch (always on for cola, as in the CoLA tutorial)." };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var head = new HeadTaskOptions();

        var cmd = new Command("evaluate", "Evaluate a fine-tuned model: accuracy, precision/recall/F1, MCC, confusion matrix (Pearson/Spearman for regression); seqeval entity F1 for ner, SQuAD exact match / F1 for squad, accuracy for swag.");
        foreach (var o in data.All.Concat([model, dataPath, batch, maxLength, truncationSide, headTokens, maxExamples, output, perBatch, device, threads, .. head.ForEvaluate]))
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var headTask = p.GetValue(data.Task) is { } named ? HeadFineTuneOptions.Parse(named) : HeadTaskCli.OfModel(p.GetValue(model)!);
            if (headTask is { } ht)
            {
                // They were ignored with exit 0: a head model's data has its own format, and its texts are cut as in fine-tuning.
                HeadTaskOptions.RefuseClassificationOnly(p, p.GetValue(data.Task) is { } given ? $"--task {given}" : $"a {HeadFineTuneOptions.Names(ht)[0]} model",
                    [data.TextColumn, data.TextPairColumn, data.LabelColumn, data.Regression, truncationSide, headTokens, perBatch]);
                var headBatch = BatchSize(p.GetValue(batch), p.GetValue(model)!);
                CommonOptions.ApplyThreads(p, threads);
                return HeadTaskCli.Evaluate(p, ht, p.GetValue(model)!, p.GetValue(dataPath)!, headBatch, GroupByLength(p.GetValue(model)!), p.GetValue(maxLength),
                    p.GetValue(maxExamples), p.GetValue(output), p.GetValue(device)!, head);
            }
            var task = data.ResolveForModel(p, p.GetValue(model)!);
            HeadTaskOptions.RefuseFor(p, task.Name, head.ForEvaluate);
            var batchSize = BatchSize(p.GetValue(batch), p.GetValue(model)!);
            var dataset = DatasetReader.Read(p.GetValue(dataPath)!, task);
            var total = dataset.Count;
            if (p.GetValue(maxExamples) is { } limit)
            {
                if (limit < 1)
                {
                    throw new BertSharpException($"--max-examples {limit}: expected a positive number.");
                }
                dataset = dataset.With([.. dataset.Examples.Take(limit)]);
            }
            CommonOptions.ApplyThreads(p, threads);
            var cutSide = CommonOptions.Truncation(p, truncationSide, headTokens);
            using var classifier = TextClassifier.Load(p.GetValue(model)!, p.GetValue(device)!, p.GetValue(maxLength));
            if (cutSide is { } chosen)
            {
                (classifier.TruncationSide, classifier.HeadTokens) = chosen;
            }
            if (classifier.Length.Warning is { } lengthWarning)
            {
                CliErrors.Warn(lengthWarning);
            }
            var (truncated, longest) = classifier.CountTruncated([.. dataset.Examples.Select(e => (e.Text, e.TextPair))]);
            if (ModelLength.TruncationWarning(truncated, dataset.Count, classifier.MaxLength, longest,
                classifier.TruncationSide, classifier.HeadTokens, classifier.PairInput) is { } truncation)
            {
                CliErrors.Warn(truncation);
            }
            // Classes named as the file names them: an HF model's default LABEL_i names stand for the file's ids or task labels.
            var labels = classifier.Labels.ForData(dataset, task, Path.Combine(p.GetValue(model)!, "config.json"), out var labelNote);
            var targets = labels.Encode(dataset);
            if (labelNote is not null)
            {
                CliErrors.Warn(labelNote);
            }
            var encoded = classifier.Encode(dataset.Examples, targets);
            var result = ClassifierEvaluation.Evaluate(classifier.Model, labels, encoded, batchSize, classifier.Tokenizer.PadId, classifier.Device,
                groupByLength: GroupByLength(p.GetValue(model)!));
            var report = result.Report;

            var cut = truncated > 0 || classifier.TruncationSide != Tokenization.TruncationSide.Head
                ? $", truncation side {Tokenization.TruncationSides.Name(classifier.TruncationSide)}{(classifier.HeadTokens is { } h ? $" (head {h})" : "")}"
                : "";
            // finetune saves the longer of its checkpoint's trained length and its own --max-length, so a run at 64 from a model
            // trained to 256 is evaluated at 256 and its validation scores were not reproduced, with nothing to say why.
            var fineTunedAt = p.GetValue(maxLength) is null && classifier.FineTunedMaxLength is { } at && at != classifier.MaxLength
                ? $" (fine-tuned at {at}: --max-length {at} scores as its validation did)"
                : "";
            Console.Out.WriteLine($"{CliErrors.Shown(dataset.Path)}: {dataset.Count:N0} examples{(dataset.Count < total ? $" (the first of {total:N0}, --max-examples)" : "")}, task {task.Name}, max length {classifier.MaxLength}{fineTunedAt}{cut}");
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            if (!labels.IsRegression && (task.Name == "cola" || p.GetValue(perBatch)))
            {
                Console.Out.WriteLine($"MCC per batch of {batchSize}:");
                Console.Out.WriteLine(string.Join(" ", result.BatchMcc.Select(m => m.ToString("0.000", CultureInfo.InvariantCulture))));
                Console.Out.WriteLine($"overall MCC: {MetricsReport.Format(report.Get("mcc"))}");
            }
            var metrics = new Table().Border(TableBorder.Rounded).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            foreach (var name in Order(report.Values.Keys))
            {
                metrics.AddRow(name, MetricsReport.Format(report.Values[name]));
            }
            console.Write(metrics);
            if (report.Confusion is { } cm)
            {
                var t = new Table().Border(TableBorder.Rounded).Title("confusion matrix").AddColumn(@"true \ predicted");
                foreach (var l in labels.Labels)
                {
                    t.AddColumn(new TableColumn(Markup.Escape(l)).RightAligned());
                }
                for (var i = 0; i < cm.GetLength(0); i++)
                {
                    t.AddRow([Markup.Escape(labels.Labels[i]), .. Enumerable.Range(0, cm.GetLength(1)).Select(j => cm[i, j].ToString(CultureInfo.InvariantCulture))]);
                }
                console.Write(t);
            }
            if (labels.IsRegression && UndefinedCorrelation(dataset.Path, targets, result.Logits) is { } undefined)
            {
                CliErrors.Warn(undefined);
            }
            if (MajorityCollapse.Detect(report) is { } collapse)
            {
                CliErrors.Warn(MajorityCollapse.Warning(collapse, null, null, null, "evaluated model", "examples"));
            }
            else if (report.Confusion is { } matrix && UndefinedPrecisionRecall(dataset.Path, labels.Labels, matrix) is { } zeroDivision)
            {
                // Not through CliErrors.Warn: the label names are the data's, not fields to rename as flags.
                Console.Error.WriteLine("warning: " + zeroDivision);
            }
            var outPath = p.GetValue(output) ?? DefaultOutput(p.GetValue(model)!, dataset.Path);
            report.Save(outPath, new Dictionary<string, object?>
            {
                ["model"] = ModelLocator.Recorded(p.GetValue(model)!),
                ["data"] = Path.GetFullPath(dataset.Path),
                ["task"] = task.Name,
                ["max_length"] = classifier.MaxLength,
                ["batch_mcc"] = result.BatchMcc.Count > 0 && (task.Name == "cola" || p.GetValue(perBatch)) ? result.BatchMcc.Select(m => Math.Round(m, 6)).ToArray() : null,
            });
            Console.Out.WriteLine($"wrote {CliErrors.Shown(outPath)}");
            return 0;
        });
        return cmd;
    }

    // HF's TrainingArguments name, as fine-tuning records it.
    private const string RecordedBatchSize = "per_device_eval_batch_size";

    /// <summary>
    /// Batches by length unless the model's fine-tuning recorded bucket_by_length false (--no-bucketing), whose validation ran
    /// in file order: ner's loss, a mean of each batch's mean over its labelled tokens, depends on which sentences share a batch.
    /// </summary>
    private static bool GroupByLength(string model) => TrainingArgsFile.Bool(TrainingArgsFile.ReadModel(model), "bucket_by_length") != false;

    /// <summary>
    /// --batch-size as given, else the batch size the model's fine-tuning validated in, else the default. ner's loss is a mean
    /// of its batches' means (HF's eval_loss), so at another size evaluate did not reproduce the run's own validation loss.
    /// </summary>
    private static int BatchSize(int? given, string model)
    {
        if (given is { } size)
        {
            return size >= 1 ? size : throw new BertSharpException(string.Create(CultureInfo.InvariantCulture, $"--batch-size {size}: expected a positive number."));
        }
        if (TrainingArgsFile.Int(TrainingArgsFile.ReadModel(model), RecordedBatchSize) is not { } recorded)
        {
            return CommonOptions.DefaultForwardBatchSize;
        }
        return recorded >= 1 ? recorded
            : throw new BertSharpException(string.Create(CultureInfo.InvariantCulture, $"{TrainingArgsFile.PathIn(model)}: {RecordedBatchSize} {recorded}: expected a positive number; give --batch-size to evaluate anyway."));
    }

    /// <summary>
    /// MODEL/eval/NAME.metrics.json for a model directory (beside the model, not wherever the command happens to run); for a
    /// Hub id, eval/ORG--NAME/NAME.metrics.json in the current directory: the Hub cache holds downloads, shared by every run
    /// and removed by cache clean-ups, not the user's results.
    /// </summary>
    internal static string DefaultOutput(string model, string dataPath)
    {
        var name = Path.GetFileName(dataPath);
        foreach (var ext in new[] { ".gz", ".csv", ".tsv", ".jsonl", ".json", ".txt" })
        {
            name = name.EndsWith(ext, StringComparison.OrdinalIgnoreCase) ? name[..^ext.Length] : name;
        }
        var eval = ModelLocator.IsHubId(model) ? Path.Combine("eval", model.Replace("/", "--", StringComparison.Ordinal)) : Path.Combine(model, "eval");
        Directory.CreateDirectory(eval);
        return Path.Combine(eval, name + ".metrics.json");
    }

    /// <summary>
    /// Why Pearson and Spearman are n/a (NaN, null in metrics.json), or null when they are defined. scipy returns NaN with
    /// a ConstantInputWarning; printing n/a alone would leave the user to guess whether the model or the file is at fault.
    /// </summary>
    internal static string? UndefinedCorrelation(string dataPath, IReadOnlyList<float> targets, IReadOnlyList<float[]> logits)
    {
        const string What = "pearson and spearman are n/a (undefined, as scipy's NaN)";
        if (targets.Count < 2)
        {
            return $"{What}: a correlation needs at least 2 examples, {dataPath} has {targets.Count}.";
        }
        if (targets.All(t => t == targets[0]))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{What}: every label in {dataPath} is {targets[0]}, and a correlation with a constant is undefined; mse is the metric such a file can give.");
        }
        if (logits.All(l => l[0] == logits[0][0]))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{What}: the model predicts {logits[0][0]} for every example of {dataPath}.");
        }
        return null;
    }

    /// <summary>
    /// Which precisions and recalls have a zero denominator (a class never predicted, or no example labelled with it), or
    /// null when none has. scikit-learn scores them 0 with an UndefinedMetricWarning (zero_division); without a word, such a
    /// 0 reads as a class the model got wrong every time. Shown as the CLI shows data (<see cref="CliErrors.Shown"/>): the
    /// labels come from the user's file, and one with an escape or a line break drove the terminal or split the warning.
    /// </summary>
    /// <param name="data">The examples as the message names them: a file's path, or the validation data of a fine-tuning.</param>
    /// <param name="labels">Class names in id order.</param>
    /// <param name="confusion">Rows true label, columns predicted label.</param>
    internal static string? UndefinedPrecisionRecall(string data, IReadOnlyList<string> labels, long[,] confusion)
    {
        var k = labels.Count;
        bool Predicted(int c) => Enumerable.Range(0, k).Any(i => confusion[i, c] > 0);
        bool Labelled(int c) => Enumerable.Range(0, k).Any(j => confusion[c, j] > 0);
        // The macro means score the classes that occur; the binary scores score class 1 whether it occurs or not.
        var scored = Enumerable.Range(0, k).Where(c => Predicted(c) || Labelled(c) || (k == 2 && c == 1)).ToList();
        string Names(Func<int, bool> which) => string.Join(", ", scored.Where(which).Select(c => $"'{labels[c]}'"));
        var parts = new List<string>();
        if (Names(c => !Predicted(c)) is { Length: > 0 } neverPredicted)
        {
            parts.Add($"the precision of {neverPredicted} (never predicted)");
        }
        if (Names(c => !Labelled(c)) is { Length: > 0 } neverLabelled)
        {
            parts.Add($"the recall of {neverLabelled} (no example of {data} has that label)");
        }
        return parts.Count == 0 ? null
            : CliErrors.Shown($"undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: {string.Join(", ", parts)}; f1 and the macro means include those zeros.");
    }

    private static IEnumerable<string> Order(IEnumerable<string> names)
    {
        string[] preferred = ["accuracy", "precision", "recall", "f1", "macro_precision", "macro_recall", "macro_f1", "mcc", "pearson", "spearman", "mse", "loss"];
        var list = names.ToList();
        return preferred.Where(list.Contains).Concat(list.Where(n => !preferred.Contains(n)));
    }
}
