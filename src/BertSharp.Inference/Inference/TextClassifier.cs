using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
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
/// <param name="Score">Softmax probability of <paramref name="Label"/> (a multi-label model: its sigmoid), or the regression value.</param>
/// <param name="Probabilities">Softmax probability of every class in id order (a multi-label model: each label's sigmoid; empty for regression).</param>
public sealed record Prediction(string Label, int LabelId, double Score, IReadOnlyList<double> Probabilities)
{
    // The probabilities as values, not a type name: a prediction is what a user prints.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Label = {Label}, LabelId = {LabelId}, Score = {Score}, Probabilities = {RecordText.List(Probabilities)}"));
        return true;
    }
}

/// <summary>
/// A fine-tuned sequence classifier ready for inference: the model in eval mode on its device, its tokenizer and labels.
/// Predictions are batched and run without gradients. <see cref="Predict(IReadOnlyList{ValueTuple{string, string}}, int)"/> may be
/// called from several threads at once (one forward pass at a time per model, as the pipelines do); dispose the classifier
/// to free the model's native memory.
/// </summary>
public sealed class TextClassifier : IDisposable
{
    private bool _disposed;

    private TextClassifier(BertForSequenceClassification model, BertTokenizer tokenizer, LabelMap labels, ResolvedLength length, Device device,
        string dir, string name, JsonObject? trainingArgs)
    {
        Model = model;
        Tokenizer = tokenizer;
        Labels = labels;
        MaxLength = length.Length;
        Length = length;
        Device = device;
        _name = name;
        FineTunedTask = TrainedTask(trainingArgs);
        FineTunedMaxLength = TrainingArgsFile.Int(trainingArgs, "max_length");
        (TruncationSide, HeadTokens) = TrainedTruncation(trainingArgs, dir);
    }

    // The model as the caller named it (a directory as typed, a Hub id), named by the refusals of inputs it was not fine-tuned
    // on: the directory it resolved to is a full path (or a snapshot in the HF cache) the user never typed.
    private readonly string _name;

    /// <summary>
    /// Which word pieces a text longer than <see cref="MaxLength"/> keeps; <see cref="Load(string, string, int?)"/> sets the
    /// side the model was fine-tuned with (training_args.json), else head.
    /// </summary>
    public TruncationSide TruncationSide { get; set; }

    /// <summary>With head+tail: word pieces kept from the start; null = Sun et al.'s share (<see cref="TruncationSides.DefaultHeadTokens"/>).</summary>
    public int? HeadTokens { get; set; }

    /// <summary>
    /// The classifier's model, in evaluation mode on <see cref="Device"/>. The classifier owns it:
    /// <see cref="Dispose"/> frees it, and a caller that runs it directly must not do so concurrently with
    /// <see cref="Predict(IReadOnlyList{ValueTuple{string, string}}, int)"/> unless it locks the model as the
    /// classifier does.
    /// </summary>
    public BertForSequenceClassification Model { get; }

    /// <summary>The tokenizer read from the model directory (vocab.txt or tokenizer.json); thread-safe.</summary>
    public BertTokenizer Tokenizer { get; }

    /// <summary>
    /// The label names by class id, from config.json's <c>id2label</c> (the model's output order); for a regression
    /// model, the single name <c>score</c>.
    /// </summary>
    public LabelMap Labels { get; }

    /// <summary>Inputs longer than this many tokens are truncated.</summary>
    public int MaxLength { get; }

    /// <summary>How <see cref="MaxLength"/> was decided (<see cref="ModelLength"/>), with its warning when it uses untrained positions.</summary>
    public ResolvedLength Length { get; }

    /// <summary>The task the model was fine-tuned on (training_args.json), or null when unknown.</summary>
    public TaskSpec? FineTunedTask { get; }

    /// <summary>
    /// The max_length the model was fine-tuned and validated at (training_args.json), or null when unknown. <see cref="MaxLength"/>
    /// does not follow it (it is the tokenizer's model_max_length unless <see cref="Load(string, string, int?)"/> is given one):
    /// a model fine-tuned at 32 from a checkpoint trained to 256 reads inputs of up to 256 tokens here, so its scores differ
    /// from its validation's. To score as its validation did, load it again with this value as <c>maxLength</c>.
    /// </summary>
    public int? FineTunedMaxLength { get; }

    /// <summary>
    /// Whether the model was fine-tuned on sentence pairs (its task has a second text column, e.g. MRPC): one text alone is
    /// then not what it learned to judge.
    /// </summary>
    public bool PairInput => FineTunedTask?.TextPairColumn is not null;

    /// <summary>
    /// The device the model's weights are on, as <see cref="Load(string, string, int?)"/> resolved it (<c>auto</c>:
    /// CUDA when available, else the CPU; always the CPU with ONNX Runtime); the batches are built there.
    /// </summary>
    public Device Device { get; }

    /// <summary>
    /// Loads a directory written by <c>bert finetune</c> (or any HF BertForSequenceClassification directory). The maximum
    /// length follows <see cref="ModelLength"/>: the model's trained length (model_max_length) unless <paramref name="maxLength"/>
    /// asks for another, never above max_position_embeddings.
    /// </summary>
    public static TextClassifier Load(string dir, string device = "auto", int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(device);
        TorchRuntime.EnsureLoaded();
        var dev = TorchRuntime.ResolveDevice(device);
        var config = BertPretrained.LoadConfig(dir, out var resolved);
        return TypedModelNames.Load(dir, resolved, () => Load(resolved, config, dev, maxLength, InferenceBackend.Torch, dir));
    }

    /// <summary>
    /// As <see cref="Load(string, string, int?)"/>, with <paramref name="backend"/> running the forward pass: with ONNX Runtime
    /// the graph's <c>logits</c> (else its first output) get the same softmax / label post-processing.
    /// </summary>
    public static TextClassifier Load(string dir, InferenceBackend backend, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return WithBackend(Load(dir, backend.IsOnnxRuntime ? "cpu" : "auto", maxLength), backend, dir);
    }

    /// <summary>
    /// Loads from the config a caller has already read from the model directory <paramref name="dir"/> (the server reads it
    /// to pick the class to serve): the file is not parsed again, and the model keeps <paramref name="config"/>. With ONNX
    /// Runtime as <paramref name="backend"/>, <paramref name="device"/> should be the CPU, as <see cref="Load(string, InferenceBackend, int?)"/> puts it.
    /// <paramref name="name"/> is the model as the caller typed it (a directory or Hub id), for the length warning.
    /// </summary>
    internal static TextClassifier Load(string dir, BertConfig config, Device device, int? maxLength, InferenceBackend backend, string name)
    {
        var (model, tokenizer, labels) = ClassifierCheckpoint.Load(dir, config);
        TextClassifier classifier;
        try
        {
            // Its warning is printed as is, so it names the model as typed: a Hub id, not the snapshot it resolved to.
            var length = ModelLength.Resolve(model.Config, tokenizer, maxLength, name);
            model.to(device);
            model.eval();
            classifier = new TextClassifier(model, tokenizer, labels, length, device, dir, name, Directory.Exists(dir) ? TrainingArgsFile.Read(dir) : null);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return WithBackend(classifier, backend, dir);
    }

    /// <summary>Opens <paramref name="backend"/>'s ONNX graph for <paramref name="classifier"/> (nothing for TorchSharp); disposes it on failure.</summary>
    private static TextClassifier WithBackend(TextClassifier classifier, InferenceBackend backend, string dir)
    {
        if (backend.OnnxPath is { } path)
        {
            try
            {
                classifier._onnx = OnnxBertSession.Open(path, backend.Threads);
                if (classifier._onnx.MultipleChoice)
                {
                    throw new BertSharpException($"{path}: the graph's inputs are [batch, choices, sequence] (a multiple-choice export); expected [batch, sequence], " +
                        $"a sequence classifier's graph for {dir}.");
                }
                classifier._onnx.RequireOutput(classifier._onnx.Output("logits"), classifier.LogitWidth, classifier.LogitsMeaning(dir));
            }
            catch
            {
                classifier.Dispose();
                throw;
            }
        }
        return classifier;
    }

    private OnnxBertSession? _onnx;

    // The classifier's logits per input: one per label, one for a regression.
    private int LogitWidth => Model.Config.NumLabels;

    private string LogitsMeaning(string dir) => Labels.IsRegression
        ? $"the regression value of {dir}"
        : $"one logit per label of {dir}: {string.Join(", ", Labels.Labels)}";

    /// <summary>The ONNX Runtime session running the forward pass, or null for TorchSharp.</summary>
    public OnnxBertSession? OnnxSession => _onnx;

    /// <summary>
    /// How many of <paramref name="inputs"/> are longer than <see cref="MaxLength"/> (and would be truncated), and the longest
    /// length in tokens, special tokens included.
    /// </summary>
    public (int Truncated, int Longest) CountTruncated(IReadOnlyList<(string Text, string? Pair)> inputs) =>
        ExampleEncoder.CountTruncated(Tokenizer, inputs, MaxLength);

    /// <summary>
    /// The task a directory was fine-tuned on (training_args.json), with its columns, or null when unknown; explicit
    /// arguments override the stored columns.
    /// </summary>
    public static TaskSpec? TrainedTask(string dir, string? textColumn = null, string? textPairColumn = null, string? labelColumn = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var args = Directory.Exists(dir) ? TrainingArgsFile.Read(dir) : null;
        // A head's run (ner, squad, swag) records a task TaskSpec does not know: TaskSpec.Get named it as "--task ner: unknown
        // task", a flag the user never gave. The model is what is wrong, so it is named as loading it names it.
        if (TrainingArgsFile.String(args, "task") is { } name && !TaskSpec.IsKnown(name))
        {
            var config = Path.Combine(dir, "config.json");
            if (File.Exists(config))
            {
                RequiredWeights.CheckArchitecture(BertConfig.Load(config), nameof(BertForSequenceClassification), dir);
            }
            throw new BertSharpException($"{TrainingArgsFile.PathIn(dir)}: task is {name}, not a text-classification task; " +
                                         $"expected one of {string.Join(", ", TaskSpec.Names)}.");
        }
        return TrainedTask(args, textColumn, textPairColumn, labelColumn);
    }

    private static TaskSpec? TrainedTask(JsonObject? args, string? textColumn = null, string? textPairColumn = null, string? labelColumn = null)
    {
        if (TrainingArgsFile.String(args, "task") is not { } name)
        {
            return null;
        }
        if (TaskSpec.BuiltInNames.Contains(name))
        {
            return TaskSpec.Get(name);
        }
        return TaskSpec.Get(name, textColumn ?? TrainingArgsFile.String(args, "text_column"), textPairColumn ?? TrainingArgsFile.String(args, "text_pair_column"),
            labelColumn ?? TrainingArgsFile.String(args, "label_column"), TrainingArgsFile.Bool(args, "regression") ?? false);
    }

    /// <summary>
    /// The truncation a directory was fine-tuned with (training_args.json: truncation_side, head_tokens); head when it says
    /// nothing (older runs, other tools' checkpoints); an unknown side name is an error naming the file.
    /// </summary>
    public static (TruncationSide Side, int? HeadTokens) TrainedTruncation(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        return TrainedTruncation(TrainingArgsFile.Read(dir), dir);
    }

    private static (TruncationSide Side, int? HeadTokens) TrainedTruncation(JsonObject? args, string dir)
    {
        var side = TrainingArgsFile.String(args, "truncation_side") is { } name
            ? TruncationSides.Parse(name, $"{TrainingArgsFile.PathIn(dir)}: truncation_side")
            : TruncationSide.Head;
        return (side, TrainingArgsFile.Int(args, "head_tokens"));
    }

    /// <summary>Tokenizes examples for this model (targets from <paramref name="targets"/>, NaN without), cut as <see cref="TruncationSide"/> says.</summary>
    public EncodedExample[] Encode(IReadOnlyList<TextExample> examples, float[]? targets = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return ExampleEncoder.Encode(Tokenizer, examples, targets, MaxLength, TruncationSide, HeadTokens);
    }

    /// <summary>
    /// Predicts every input (text and optional pair), in order. A model whose <see cref="FineTunedTask"/> is known takes a
    /// pair exactly when it was fine-tuned on pairs (<see cref="PairInput"/>); with an unknown task every input is taken.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The classifier has been disposed.</exception>
    /// <exception cref="BertSharpException">An input has no pair for a sentence-pair model, or a pair for a single-text one (naming text_pair and the input).</exception>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<(string Text, string? Pair)> inputs, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        // Past Dispose the refusal came from whatever was freed first: TorchSharp's module handle or the ONNX session.
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (inputs.Count == 0)
        {
            return [];
        }
        RequirePairing(inputs);
        return [.. Logits(inputs, batchSize, TruncationSide).Select(ToPrediction)];
    }

    /// <summary>
    /// The raw logits [inputs][labels] of every input, cut to <see cref="MaxLength"/> on <paramref name="side"/> (a caller such
    /// as the cross-encoder picks the side per call; the classifier's own stays as it is) by <paramref name="truncation"/>
    /// (longest-first, or only the first text for zero-shot classification), by whichever backend runs the model.
    /// </summary>
    internal float[][] Logits(IReadOnlyList<(string Text, string? Pair)> inputs, int batchSize, TruncationSide side,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var encoded = ExampleEncoder.EncodeWithTruncation(Tokenizer, [.. inputs.Select((x, i) => new TextExample(x.Text, x.Pair, null, i + 1))], null, MaxLength, side, HeadTokens, truncation);
        // The model's monitor is shared with every InferencePipeline over the same weights (a server runs several at once).
        if (_onnx is not null)
        {
            return OnnxLogits(_onnx, encoded, batchSize);
        }
        lock (Model)
        {
            return ClassifierRunner.Run(Model, encoded, batchSize, Tokenizer.PadId, withLabels: false, Device).Logits;
        }
    }

    /// <summary>Predicts one input; <paramref name="pair"/> is required by a sentence-pair model and refused by a single-text one (<see cref="PairInput"/>).</summary>
    /// <exception cref="BertSharpException">The pair does not fit what the model was fine-tuned on, naming text_pair.</exception>
    public Prediction Predict(string text, string? pair = null)
    {
        // Named here: the batch overload would call it the text of batch item 0.
        ArgumentNullException.ThrowIfNull(text);
        return Predict([(text, pair)])[0];
    }

    /// <summary>
    /// Why an input with (<paramref name="hasPair"/>) or without a second text is not what the model was fine-tuned on, or
    /// null when it is (or the task is unknown). A single-text model given a pair reads it as a second segment it never
    /// saw, and answers with confidence all the same; a pair model given one text judges it against nothing.
    /// </summary>
    internal string? PairMismatch(bool hasPair) => FineTunedTask is not { } task || hasPair == PairInput ? null
        : PairInput ? $"{_name} was fine-tuned on sentence pairs (task {task.Name}) and judges a second text against the first"
        : $"{_name} was fine-tuned on single texts (task {task.Name}) and never saw a second one";

    /// <summary>Refuses the first input whose pairing does not fit the model (<see cref="PairMismatch"/>), naming text_pair.</summary>
    internal void RequirePairing(IReadOnlyList<(string Text, string? Pair)> inputs)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            var hasPair = inputs[i].Pair is not null;
            if (PairMismatch(hasPair) is { } why)
            {
                var which = inputs.Count == 1 ? "" : Invariant($" of inputs[{i}]");
                throw new BertSharpException($"{BertSharpException.Field("text_pair")}{which}: {(hasPair ? "not for this model" : "required")}; {why}.");
            }
        }
    }

    // config.json's problem_type: HF multi-label checkpoints (one sigmoid per label) are loaded as classifiers with their labels.
    private bool MultiLabel => Model.Config.ProblemType == "multi_label_classification";

    private Prediction ToPrediction(float[] logits)
    {
        NonFiniteOutputException.ThrowIfNotFinite(logits, "logits");
        if (Labels.IsRegression)
        {
            return new Prediction(Labels.Labels[0], 0, logits[0], []);
        }
        // A multi-label model's labels are independent yes/no answers (BCE on each logit), so each gets its own sigmoid, as HF's
        // text-classification pipeline does for problem_type multi_label_classification; a softmax made them compete and sum to 1.
        var probs = MultiLabel ? ScoreMath.Sigmoid(logits) : ScoreMath.Softmax(logits);
        var best = ScoreMath.ArgMax(logits);
        return new Prediction(Labels.Labels[best], best, probs[best], probs);
    }

    private float[][] OnnxLogits(OnnxBertSession session, EncodedExample[] encoded, int batchSize)
    {
        var logits = new float[encoded.Length][];
        var output = session.Output("logits");
        foreach (var batch in Batching.PlanByLength([.. encoded.Select(e => e.Length)], batchSize))
        {
            var (ids, mask, types, seq) = OnnxBertSession.Collate([.. batch.Select(i => ((IReadOnlyList<int>)encoded[i].InputIds, (IReadOnlyList<int>)encoded[i].TokenTypeIds))], Tokenizer.PadId);
            var (values, shape) = session.Run(ids, mask, types, batch.Length, seq, output);
            session.RequireShape(output, shape, batch.Length, LogitWidth, "one logit per label");
            var width = LogitWidth;
            for (var r = 0; r < batch.Length; r++)
            {
                logits[batch[r]] = values[(r * width)..((r + 1) * width)];
            }
        }
        return logits;
    }

    /// <summary>
    /// Frees the model's native (libtorch) memory and the ONNX Runtime session, if any; later predictions throw
    /// <see cref="ObjectDisposedException"/>. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _onnx?.Dispose();
        Model.Dispose();
    }
}
