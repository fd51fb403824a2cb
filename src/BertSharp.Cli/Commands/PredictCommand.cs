using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert predict</c>: labels and softmax probabilities for new text, from the command line, a file or a prompt.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var data = new DataOptions("predict");
        data.Task.Description = "With --input: read the file in this task's format (labels optional); default: the training task's format when the extension matches, else by extension (.txt one text per line, .csv/.tsv/.jsonl with --text-column).";
        var model = CommonOptions.ModelOption("Directory written by 'bert finetune', or a Hub id of a sequence classifier.");
        var text = new Option<string?>("--text") { Description = "A text to classify." };
        var pair = new Option<string?>("--text-pair") { Description = "The second text: required by sentence-pair models (fine-tuned on pairs, e.g. MRPC), refused by models fine-tuned on single texts." };
        var input = new Option<string?>("--input") { Description = "A file of texts to classify." };
        var output = new Option<string?>("--output") { Description = "With --input: write predictions here (.jsonl, .csv or .tsv; atomically; .json is JSON Lines too, as HF datasets' to_json writes it and as --input reads it); default: stdout." };
        var interactive = new Option<bool>("--interactive") { Description = "Read sentences from stdin and answer each one (empty line or EOF ends)." };
        var batch = CommonOptions.ForwardBatchSize();
        var maxLength = CommonOptions.MaxLength();
        var truncationSide = CommonOptions.TruncationSide("Default: the side the model was fine-tuned with (training_args.json), else head.");
        var headTokens = CommonOptions.HeadTokens();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var choice = new Option<string[]>("--choice") { Description = "Multiple-choice models: a candidate continuation of --text (give two or more)." };

        var backend = new BackendOptions();
        var cmd = new Command("predict", "Predict labels (with softmax probabilities) for new text with a fine-tuned classifier, or the best candidate with a multiple-choice model.");
        foreach (var o in data.All.Concat([model, text, pair, input, output, interactive, batch, maxLength, truncationSide, headTokens, device, threads, choice]).Concat(backend.All))
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            // Before the multiple-choice branch: it wrote JSON lines into any --output (x.csv, x.txt) and ignored one given with --text.
            if (p.GetValue(output) is not null && p.GetValue(input) is null)
            {
                throw new BertSharpException("--output: only together with --input.");
            }
            if (p.GetValue(output) is { } o && !o.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) && !o.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                && !o.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && !o.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
            {
                throw new BertSharpException($"--output {o}: unknown extension; expected .jsonl (or .json, also JSON Lines), .csv or .tsv (the format is chosen by the extension).");
            }
            if (HeadTaskCli.OfModel(p.GetValue(model)!) == HeadTask.MultipleChoice)
            {
                if (p.GetValue(output) is { } mcOut && !mcOut.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) && !mcOut.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    throw new BertSharpException($"--output {mcOut}: a multiple-choice model's predictions are JSON lines (choice, score, probabilities); expected .jsonl or .json.");
                }
                if (p.GetValue(pair) is not null)
                {
                    throw new BertSharpException("--text-pair: not for a multiple-choice model; give the candidates with --choice.");
                }
                // It used to ignore --backend onnxruntime and --onnx and answer with TorchSharp.
                backend.RequireTorch(p, "a multiple-choice model");
                // These were ignored with exit 0: every multiple-choice model was fine-tuned on longest-first cuts ('finetune
                // --task swag' refuses --truncation-side), so another side at prediction would score inputs it never saw.
                foreach (var option in new Option[] { truncationSide, headTokens, interactive, data.TextColumn, data.TextPairColumn, data.LabelColumn, data.Regression }
                    .Where(g => CommonOptions.Given(p, g)))
                {
                    var why = option == truncationSide || option == headTokens ? "its choices are cut longest-first, as HF run_swag and 'bert finetune --task swag' cut them"
                        : option == interactive ? "give --text \"CONTEXT\" with --choice \"...\" (two or more), or --input FILE"
                        : "its --input is SWAG data (sent1, sent2, ending0…endingN)";
                    throw new BertSharpException($"{option.Name}: not for a multiple-choice model; {why}.");
                }
                if (p.GetValue(data.Task) is { } mcTask && HeadFineTuneOptions.Parse(mcTask) != HeadTask.MultipleChoice)
                {
                    throw new BertSharpException($"--task {mcTask}: not for a multiple-choice model; its --input is read as swag data (sent1, sent2, ending0…endingN).");
                }
                CommonOptions.ApplyThreads(p, threads);
                return HeadTaskCli.PredictChoices(p.GetValue(model)!, p.GetValue(text), p.GetValue(choice), p.GetValue(input), p.GetValue(output), p.GetValue(batch),
                    p.GetValue(maxLength), p.GetValue(device)!);
            }
            if (p.GetValue(choice) is { Length: > 0 })
            {
                throw new BertSharpException("--choice: only for a multiple-choice model (fine-tuned with --task swag).");
            }
            var modes = (p.GetValue(text) is not null ? 1 : 0) + (p.GetValue(input) is not null ? 1 : 0) + (p.GetValue(interactive) ? 1 : 0);
            if (modes != 1)
            {
                throw new BertSharpException("predict: give exactly one of --text \"...\", --input FILE or --interactive.");
            }
            // They say how to read the --input file; with --text or --interactive they were ignored with exit 0.
            if (p.GetValue(input) is null && data.All.FirstOrDefault(o => CommonOptions.Given(p, o)) is { } dataOption)
            {
                throw new BertSharpException($"{dataOption.Name}: only together with --input (it says how to read the file).");
            }
            if (p.GetValue(text) is { } t && string.IsNullOrWhiteSpace(t))
            {
                throw new BertSharpException("--text: empty; give the text to classify.");
            }
            if (p.GetValue(pair) is { } tp && string.IsNullOrWhiteSpace(tp))
            {
                throw new BertSharpException("--text-pair: empty; give the second text, or leave --text-pair out.");
            }
            if (p.GetValue(pair) is not null && p.GetValue(text) is null)
            {
                throw new BertSharpException("--text-pair: only together with --text.");
            }
            var batchSize = p.GetValue(batch);
            if (batchSize < 1)
            {
                throw new BertSharpException($"--batch-size {batchSize}: expected a positive number.");
            }
            TextDataset? inputData = null;
            if (p.GetValue(input) is { } inputPath)
            {
                // Read (and validate) the input before the model is loaded: a bad file fails fast.
                inputData = ReadInput(inputPath, p, data, p.GetValue(model)!);
            }
            var truncation = CommonOptions.Truncation(p, truncationSide, headTokens);
            CommonOptions.ApplyThreads(p, threads);
            using var classifier = backend.Load(p, p.GetValue(model)!, device, engine => TextClassifier.Load(p.GetValue(model)!, engine, p.GetValue(maxLength)),
                on => TextClassifier.Load(p.GetValue(model)!, on, p.GetValue(maxLength)));
            if (truncation is { } chosen)
            {
                (classifier.TruncationSide, classifier.HeadTokens) = chosen;
            }
            if (classifier.Length.Warning is { } lengthWarning)
            {
                CliErrors.Warn(lengthWarning);
            }
            if (p.GetValue(text) is { } single)
            {
                // Before the truncation warning: the library's refusal names text_pair, shown as --text-pair.
                classifier.RequirePairing([(single, p.GetValue(pair))]);
                WarnTruncated(classifier, [(single, p.GetValue(pair))]);
                var prediction = classifier.Predict(single, p.GetValue(pair));
                Console.Out.WriteLine(Describe(prediction, classifier));
                if (prediction.Probabilities.Count > 0)
                {
                    Console.Out.WriteLine(string.Join("  ", classifier.Labels.Labels.Select((l, i) => $"{CliErrors.Shown(l)} {prediction.Probabilities[i]:0.0000}")));
                }
                return 0;
            }
            if (inputData is not null)
            {
                if (inputData.Examples.FirstOrDefault(e => classifier.PairMismatch(e.TextPair is not null) is not null) is { } bad)
                {
                    throw new BertSharpException(bad.TextPair is null
                        ? $"{LineRef.At(inputData.Path, bad.Line)}: no second text; {classifier.PairMismatch(false)}: give a file in that task's format or --text-pair-column."
                        : $"{LineRef.At(inputData.Path, bad.Line)}: a second text; {classifier.PairMismatch(true)}: give the texts alone (no --text-pair-column, no second column).");
                }
                var inputs = inputData.Examples.Select(e => (e.Text, e.TextPair)).ToList();
                WarnTruncated(classifier, inputs);
                var predictions = classifier.Predict(inputs, batchSize);
                if (p.GetValue(output) is { } outPath)
                {
                    AtomicFile.WriteAllText(outPath, Format(outPath, inputData, predictions, classifier));
                    Console.Out.WriteLine($"wrote {predictions.Count:N0} predictions to {CliErrors.Shown(outPath)}");
                }
                else
                {
                    Console.Out.Write(Format("stdout.tsv", inputData, predictions, classifier));
                }
                return 0;
            }
            Console.Error.WriteLine(classifier.PairInput
                ? $"model {p.GetValue(model)}: labels {CliErrors.Shown(string.Join(", ", classifier.Labels.Labels))}; a sentence-pair model: type the first text, Enter, then the second (empty line or Ctrl-D to quit)."
                : $"model {p.GetValue(model)}: labels {CliErrors.Shown(string.Join(", ", classifier.Labels.Labels))}. Type a sentence and press Enter (empty line or Ctrl-D to quit).");
            while (true)
            {
                Console.Error.Write(classifier.PairInput ? "A> " : "> ");
                var line = Console.In.ReadLine();
                if (string.IsNullOrWhiteSpace(line))
                {
                    break;
                }
                string? second = null;
                if (classifier.PairInput)
                {
                    Console.Error.Write("B> ");
                    second = Console.In.ReadLine()?.Trim();
                    if (string.IsNullOrWhiteSpace(second))
                    {
                        break;
                    }
                }
                WarnTruncated(classifier, [(line.Trim(), second)]);
                Console.Out.WriteLine(Describe(classifier.Predict(line.Trim(), second), classifier));
            }
            return 0;
        });
        return cmd;
    }

    private static void WarnTruncated(TextClassifier classifier, IReadOnlyList<(string Text, string? Pair)> inputs)
    {
        var (truncated, longest) = classifier.CountTruncated(inputs);
        if (ModelLength.TruncationWarning(truncated, inputs.Count, classifier.MaxLength, longest,
            classifier.TruncationSide, classifier.HeadTokens, classifier.PairInput) is { } w)
        {
            CliErrors.Warn(w);
        }
    }

    private static string Describe(Prediction prediction, TextClassifier classifier) =>
        classifier.Labels.IsRegression
            ? prediction.Score.ToString("0.0000", CultureInfo.InvariantCulture)
            : $"{CliErrors.Shown(prediction.Label)} ({prediction.Score.ToString("0.00", CultureInfo.InvariantCulture)})";

    private static TextDataset ReadInput(string path, ParseResult p, DataOptions data, string modelDir)
    {
        if (p.GetValue(data.Task) is not null)
        {
            return DatasetReader.Read(path, data.ResolveForModel(p, modelDir), requireLabels: false);
        }
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        var ext = Path.GetExtension(name).ToLowerInvariant();
        var trained = p.GetValue(data.TextColumn) is null ? TextClassifier.TrainedTask(modelDir) : null;
        var format = ext switch { ".csv" => DataFormat.Csv, ".tsv" => DataFormat.Tsv, ".jsonl" or ".json" => DataFormat.JsonLines, _ => (DataFormat?)null };
        if (trained is not null && trained.Format == format)
        {
            // A file in the format the model was trained on: read it with the same columns.
            return DatasetReader.Read(path, trained, requireLabels: false);
        }
        if (format is not null)
        {
            var task = TaskSpec.Get(ext.TrimStart('.'), p.GetValue(data.TextColumn), p.GetValue(data.TextPairColumn), p.GetValue(data.LabelColumn));
            return DatasetReader.Read(path, task, requireLabels: false);
        }
        // Strict and line-numbered: an invalid byte is a one-line error naming its line.
        // Counted while streaming: the file's lines are not kept beside its texts (only the count tells blank from empty).
        var lineCount = 0;
        var examples = TextLines.Read(path).Select((l, i) => new TextExample(l.Trim(), null, null, lineCount = i + 1)).Where(e => e.Text.Length > 0).ToList();
        if (examples.Count == 0)
        {
            throw CliInput.NoTexts(path, lineCount);
        }
        return new TextDataset(path, "label", examples);
    }

    private static string Format(string path, TextDataset input, IReadOnlyList<Prediction> predictions, TextClassifier classifier)
    {
        var sb = new StringBuilder();
        var labels = classifier.Labels;
        var hasPair = input.Examples.Any(e => e.TextPair is not null);
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            for (var i = 0; i < predictions.Count; i++)
            {
                var e = input.Examples[i];
                var o = new JsonObject { ["line"] = e.Line, ["text"] = e.Text };
                if (hasPair)
                {
                    o["text_pair"] = e.TextPair;
                }
                o["label"] = predictions[i].Label;
                o["score"] = Math.Round(predictions[i].Score, 6);
                if (!labels.IsRegression)
                {
                    var probs = new JsonObject();
                    for (var k = 0; k < labels.Labels.Count; k++)
                    {
                        probs[labels.Labels[k]] = Math.Round(predictions[i].Probabilities[k], 6);
                    }
                    o["probabilities"] = probs;
                }
                sb.Append(o.ToJsonString(CliJson.Options)).Append('\n');
            }
            return sb.ToString();
        }
        var sep = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "," : "\t";
        string Cell(string s) => sep == "," ? (s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s)
            : s.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        var header = new List<string> { "line", "text" };
        if (hasPair)
        {
            header.Add("text_pair");
        }
        header.Add("label");
        header.Add("score");
        if (!labels.IsRegression)
        {
            header.AddRange(labels.Labels.Select(l => "p_" + l));
        }
        sb.Append(string.Join(sep, header.Select(Cell))).Append('\n');
        for (var i = 0; i < predictions.Count; i++)
        {
            var e = input.Examples[i];
            var row = new List<string> { e.Line.ToString(CultureInfo.InvariantCulture), e.Text };
            if (hasPair)
            {
                row.Add(e.TextPair ?? "");
            }
            row.Add(predictions[i].Label);
            row.Add(predictions[i].Score.ToString("0.######", CultureInfo.InvariantCulture));
            row.AddRange(predictions[i].Probabilities.Select(x => x.ToString("0.######", CultureInfo.InvariantCulture)));
            sb.Append(string.Join(sep, row.Select(Cell))).Append('\n');
        }
        return sb.ToString();
    }
}
