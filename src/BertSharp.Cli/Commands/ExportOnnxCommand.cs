using System.CommandLine;
using System.Globalization;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary>
/// <c>bert export-onnx MODEL OUT.onnx</c>: the model's ONNX graph (any head, dynamic batch and sequence axes), optionally
/// fused by ONNX Runtime (<c>--optimize</c>) and/or dynamically quantized (<c>--quantize int8</c>, with the accuracy change
/// on <c>--eval-data</c>).
/// </summary>
internal static class ExportOnnxCommand
{
    public static Command Create()
    {
        var data = new DataOptions("export-onnx");
        data.Task.Description = "With --eval-data: the file's task (default: the task the model was fine-tuned on).";
        var model = CommonOptions.ModelOptionOrArgument("Model directory (any BERT head) or Hub id.");
        var output = CommonOptions.ModelOptionOrArgument("The .onnx file to write (atomically).", "output", "--output");
        var architecture = CommonOptions.Architecture("to export as");
        var optimize = new Option<bool>("--optimize") { Description = "Write ONNX Runtime's fused BERT operators (EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu/FastGelu)." };
        var quantize = new Option<string?>("--quantize") { Description = "int8: dynamic quantization of the MatMul weights (per column, symmetric)." };
        quantize.AcceptOnlyFromAmong("int8");
        var external = new Option<bool>("--external-data") { Description = "Store the weights beside the graph (ONNX external data) in OUT.onnx.HASH.data, named by their content so that the graph never reads another export's weights." };
        var evalData = new Option<string?>("--eval-data") { Description = "With --quantize: a labelled file; prints the accuracy of the float and the quantized graph on it (ONNX Runtime)." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads for --eval-data (0 = one per core).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("export-onnx", "Export a BERT model to ONNX (opset 17, dynamic axes) for ONNX Runtime; optionally fused and/or int8-quantized.")
        {
            model.Option, output.Option, model.Positional, output.Positional, architecture, optimize, quantize, external, evalData, threads,
        };
        foreach (var o in data.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var (modelName, outPath) = CommonOptions.ModelAndOutput(p, model, output, "the .onnx file to write");
            CommonOptions.CheckThreads(p.GetValue(threads), zeroIsDefault: true);
            var modelDir = BertPretrained.ResolveDirectory(modelName);
            var int8 = p.GetValue(quantize) == "int8";
            TextDataset? eval = null;
            TaskSpec? task = null;
            if (p.GetValue(evalData) is null
                && data.All.Append(threads).FirstOrDefault(o => CommonOptions.Given(p, o)) is { } stray)
            {
                // They only describe or measure --eval-data; without it they were accepted and did nothing.
                throw new BertSharpException(stray == threads
                    ? "--threads: only with --eval-data (the ONNX Runtime threads that measure its accuracy)."
                    : $"{stray.Name}: only with --eval-data (it describes that file).");
            }
            if (p.GetValue(evalData) is { } evalPath)
            {
                if (!int8)
                {
                    throw new BertSharpException("--eval-data: only with --quantize int8 (it measures the accuracy the quantization costs).");
                }
                var config = BertPretrained.LoadConfig(modelDir);
                if (config.IsRegression || config.ProblemType == "multi_label_classification" || config.NumLabels < 2)
                {
                    var kind = config.IsRegression ? "a regression model"
                        : config.ProblemType == "multi_label_classification" ? "a multi-label classifier (problem_type multi_label_classification)"
                        : "a classifier of one class";
                    throw new BertSharpException($"--eval-data: accuracy needs a single-label classifier; {modelDir} is {kind}.");
                }
                var exported = p.GetValue(architecture) ?? config.Architectures?.FirstOrDefault();
                if (exported != nameof(BertForSequenceClassification))
                {
                    throw new BertSharpException($"--eval-data: accuracy needs a single-label classifier; {modelDir} is exported as {exported ?? "BertModel (config.json names no architecture)"}, " +
                        $"expected {nameof(BertForSequenceClassification)}.");
                }
                // Read (and validate) the data before anything is exported: a bad file writes nothing.
                task = data.ResolveForModel(p, modelDir);
                eval = DatasetReader.Read(evalPath, task);
            }
            var options = new OnnxExportOptions(p.GetValue(optimize), int8, p.GetValue(external));
            var (summary, accuracy) = eval is null
                ? (OnnxExport.Export(modelDir, outPath, options, p.GetValue(architecture)), null)
                : ExportMeasured(modelDir, outPath, options, eval, task!, p.GetValue(architecture), p.GetValue(threads));
            Console.Out.WriteLine($"{summary.Architecture} → {CliErrors.Shown(CliInput.SaidAsTyped(p, summary.Path))} ({summary.Bytes / 1048576.0:0.0} MiB, opset 17, outputs {string.Join(", ", summary.Outputs)})");
            if (summary.QuantizedMatMuls > 0)
            {
                Console.Out.WriteLine($"int8: {summary.QuantizedMatMuls} MatMul weights quantized (DynamicQuantizeMatMul)");
            }
            var fused = summary.OpCounts.Where(kv => kv.Key.StartsWith("com.microsoft:", StringComparison.Ordinal)).ToList();
            if (p.GetValue(optimize))
            {
                Console.Out.WriteLine(fused.Count == 0
                    ? "optimize: ONNX Runtime fused no BERT operators"
                    : "optimize: " + string.Join(", ", fused.Select(kv => $"{kv.Value} × {kv.Key["com.microsoft:".Length..]}")));
            }
            if (accuracy is not null)
            {
                Console.Out.WriteLine(accuracy);
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Exports the quantized graph to <paramref name="outPath"/> and measures it against the float graph on <paramref name="eval"/>.
    /// The float graph is measured first: labels the model lacks, or a model that is no classifier, are refused before
    /// <paramref name="outPath"/> is written.
    /// </summary>
    private static (OnnxExportSummary Summary, string Accuracy) ExportMeasured(string modelDir, string outPath, OnnxExportOptions options, TextDataset eval,
        TaskSpec task, string? architecture, int threads)
    {
        var floatPath = Path.Combine(Path.GetTempPath(), "bertsharp-float-" + Guid.NewGuid().ToString("N")[..10] + ".onnx");
        try
        {
            OnnxExport.Export(modelDir, floatPath, new OnnxExportOptions(), architecture);
            float[] targets;
            double Accuracy(TextClassifier classifier)
            {
                var predictions = classifier.Predict([.. eval.Examples.Select(e => (e.Text, e.TextPair))]);
                return predictions.Select((pr, i) => pr.LabelId == (int)targets[i] ? 1.0 : 0.0).Average();
            }
            double before;
            using (var classifier = TextClassifier.Load(modelDir, new InferenceBackend(floatPath, threads)))
            {
                var labels = classifier.Labels.ForData(eval, task, Path.Combine(modelDir, "config.json"), out var labelNote);
                targets = labels.Encode(eval);
                if (labelNote is not null)
                {
                    CliErrors.Warn(labelNote);
                }
                before = Accuracy(classifier);
            }
            var summary = OnnxExport.Export(modelDir, outPath, options, architecture);
            double after;
            using (var classifier = TextClassifier.Load(modelDir, new InferenceBackend(summary.Path, threads)))
            {
                after = Accuracy(classifier);
            }
            string Pct(double v) => (100 * v).ToString("0.00", CultureInfo.InvariantCulture);
            return (summary, $"accuracy on {CliErrors.Shown(eval.Path)} ({eval.Count:N0} examples): float32 {Pct(before)} %, int8 {Pct(after)} %, " +
                             $"change {(after - before >= 0 ? "+" : "")}{(100 * (after - before)).ToString("0.00", CultureInfo.InvariantCulture)} points");
        }
        finally
        {
            File.Delete(floatPath);
        }
    }
}
