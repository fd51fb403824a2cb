using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>One prediction.</summary>
/// <param name="Label">The predicted label name (for regression: "score").</param>
/// <param name="LabelId">Its class id (0 for regression).</param>
/// <param name="Score">Softmax probability of <paramref name="Label"/>, or the regression value.</param>
/// <param name="Probabilities">Softmax probability of every class in id order (empty for regression).</param>
public sealed record Prediction(string Label, int LabelId, double Score, IReadOnlyList<double> Probabilities);

/// <summary>
/// A fine-tuned sequence classifier ready for inference: the model in eval mode on its device, its tokenizer and labels.
/// Predictions are batched and run without gradients.
/// </summary>
public sealed class TextClassifier : IDisposable
{
    private TextClassifier(BertForSequenceClassification model, BertTokenizer tokenizer, LabelMap labels, int maxLength, Device device)
    {
        Model = model;
        Tokenizer = tokenizer;
        Labels = labels;
        MaxLength = maxLength;
        Device = device;
    }

    public BertForSequenceClassification Model { get; }

    public BertTokenizer Tokenizer { get; }

    public LabelMap Labels { get; }

    /// <summary>Inputs longer than this many tokens are truncated.</summary>
    public int MaxLength { get; }

    public Device Device { get; }

    /// <summary>
    /// Loads a directory written by <c>bert finetune</c> (or any HF BertForSequenceClassification directory). The maximum
    /// length defaults to the one the model was trained with (training_args.json), else 128, never above max_position_embeddings.
    /// </summary>
    public static TextClassifier Load(string dir, string device = "auto", int? maxLength = null)
    {
        TorchRuntime.EnsureLoaded();
        var dev = TorchRuntime.ResolveDevice(device);
        dir = BertPretrained.ResolveDirectory(dir);
        var (model, tokenizer, labels) = ClassifierCheckpoint.Load(dir);
        var limit = model.Config.MaxPositionEmbeddings;
        var len = maxLength ?? Math.Min(TrainedMaxLength(dir) ?? 128, limit);
        if (len > limit)
        {
            model.Dispose();
            throw new BertSharpException($"--max-length {len}: above the model's max_position_embeddings {limit} ({Path.Combine(dir, "config.json")}).");
        }
        if (len < 3)
        {
            model.Dispose();
            throw new BertSharpException($"--max-length {len}: expected at least 3.");
        }
        model.to(dev);
        model.eval();
        return new TextClassifier(model, tokenizer, labels, len, dev);
    }

    /// <summary>The max_length recorded in the directory's training_args.json, if any.</summary>
    public static int? TrainedMaxLength(string dir)
    {
        var path = Path.Combine(dir, "training_args.json");
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["max_length"]?.GetValue<int>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The task a directory was fine-tuned on (training_args.json), with its columns, or null when unknown; explicit
    /// arguments override the stored columns.
    /// </summary>
    public static TaskSpec? TrainedTask(string dir, string? textColumn = null, string? textPairColumn = null, string? labelColumn = null)
    {
        var path = Path.Combine(dir, "training_args.json");
        if (!Directory.Exists(dir) || !File.Exists(path))
        {
            return null;
        }
        try
        {
            var args = JsonNode.Parse(File.ReadAllText(path));
            if (args?["task"]?.GetValue<string>() is not { } name)
            {
                return null;
            }
            if (TaskSpec.BuiltInNames.Contains(name))
            {
                return TaskSpec.Get(name);
            }
            return TaskSpec.Get(name, textColumn ?? args["text_column"]?.GetValue<string>(), textPairColumn ?? args["text_pair_column"]?.GetValue<string>(),
                labelColumn ?? args["label_column"]?.GetValue<string>(), args["regression"]?.GetValue<bool>() ?? false);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Tokenizes examples for this model (targets from <paramref name="targets"/>, NaN without).</summary>
    public EncodedExample[] Encode(IReadOnlyList<TextExample> examples, float[]? targets = null) =>
        ExampleEncoder.Encode(Tokenizer, examples, targets, MaxLength);

    /// <summary>Predicts every input (text and optional pair), in order.</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<(string Text, string? Pair)> inputs, int batchSize = 32)
    {
        if (inputs.Count == 0)
        {
            return [];
        }
        var encoded = Encode([.. inputs.Select((x, i) => new TextExample(x.Text, x.Pair, null, i + 1))]);
        // The model's monitor is shared with every InferencePipeline over the same weights (a server runs several at once).
        ClassifierRun run;
        lock (Model)
        {
            run = ClassifierRunner.Run(Model, encoded, batchSize, Tokenizer.PadId, withLabels: false, Device);
        }
        return [.. run.Logits.Select(ToPrediction)];
    }

    /// <summary>Predicts one input.</summary>
    public Prediction Predict(string text, string? pair = null) => Predict([(text, pair)])[0];

    private Prediction ToPrediction(float[] logits)
    {
        NonFiniteOutputException.ThrowIfNotFinite(logits, "logits");
        if (Labels.IsRegression)
        {
            return new Prediction(Labels.Labels[0], 0, logits[0], []);
        }
        var probs = ClassifierRunner.Softmax(logits);
        var best = ClassifierRunner.ArgMax(logits);
        return new Prediction(Labels.Labels[best], best, probs[best], probs);
    }

    public void Dispose() => Model.Dispose();
}
