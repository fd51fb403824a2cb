using System.Collections.Concurrent;
using System.Globalization;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace BertSharp.Inference;

/// <summary>Which engine runs the forward pass of a pipeline.</summary>
/// <param name="OnnxPath">
/// The ONNX graph to run with ONNX Runtime (e.g. written by <c>bert export-onnx</c>); null = TorchSharp. A relative path is
/// relative to the current directory, not to the model directory (<c>Path.Combine(dir, "model.onnx")</c> for the graph beside it).
/// </param>
/// <param name="Threads">
/// ONNX Runtime intra-op threads: 0 = ONNX Runtime's default (one per core), else 1 to 4 × the processors (the bound of the
/// CLI's <c>--threads</c>); anything else is a <see cref="BertSharpException"/> naming <c>threads</c>.
/// </param>
public sealed record InferenceBackend(string? OnnxPath = null, int Threads = 0)
{
    // Checked when built and when changed by `with`: a negative or huge count would only fail (or crawl) at the first session.
    /// <summary>ONNX Runtime intra-op threads; 0 = ONNX Runtime's default (one per core).</summary>
    /// <exception cref="BertSharpException">The count is negative or above 4 × the processors.</exception>
    public int Threads { get; init => field = CheckThreads(value); } = CheckThreads(Threads);

    private static int CheckThreads(int threads) => ThreadCount.Check(threads, BertSharpException.Field("threads"), zeroIsDefault: true);

    /// <summary>The TorchSharp backend (the default).</summary>
    public static InferenceBackend Torch { get; } = new();

    /// <summary>Whether ONNX Runtime runs the graph.</summary>
    public bool IsOnnxRuntime => OnnxPath is not null;

    /// <summary>
    /// The backend named on a command line: <c>torch</c> (default) or <c>onnxruntime</c>, whose graph is <paramref name="onnxPath"/>
    /// or else <c>model.onnx</c> in <paramref name="modelDirectory"/>; a Hub id has no such default and needs <paramref name="onnxPath"/>.
    /// </summary>
    public static InferenceBackend Parse(string name, string modelDirectory, string? onnxPath, int threads = 0) => name.Trim().ToLowerInvariant() switch
    {
        "torch" or "torchsharp" => onnxPath is null ? Torch : throw new BertSharpException($"{BertSharpException.Field("onnx")}: only with {BertSharpException.Field("backend")} onnxruntime."),
        "onnxruntime" or "ort" => new InferenceBackend(onnxPath ?? DefaultGraph(modelDirectory), threads),
        _ => throw new BertSharpException($"{BertSharpException.Field("backend")} {name}: expected torch or onnxruntime."),
    };

    // A Hub id names no directory of the user's, and its download fetches no graph: model.onnx "in" it was looked for under
    // the current directory, and the refusal named a path there that nothing would ever write.
    private static string DefaultGraph(string modelDirectory) => Checkpoints.ModelLocator.IsHubId(modelDirectory)
        ? throw new BertSharpException(
            $"{BertSharpException.Field("onnx")}: expected with {BertSharpException.Field("backend")} onnxruntime for the Hub model {modelDirectory}, which has no model.onnx of its own; write one with OnnxExport.Export and name it.")
        : Path.Combine(modelDirectory, "model.onnx");
}

/// <summary>
/// An ONNX Runtime session over a BERT graph with BertSharp's inputs: int64 <c>input_ids</c>, <c>attention_mask</c> and
/// <c>token_type_ids</c> [batch, seq] (each fed only when the graph declares it), or [batch, choices, seq] for a multiple-choice
/// export. Thread-safe, as ORT's Run is.
/// </summary>
public sealed class OnnxBertSession : IDisposable
{
    private static readonly string[] KnownInputs = ["input_ids", "attention_mask", "token_type_ids"];
    private readonly InferenceSession _session;
    private readonly string[] _inputs;
    // ORT's disposed session does not refuse a Run: it crashes the process or complains about empty names.
    private bool _disposed;

    // Native sessions not yet disposed, per graph file (full path): a pipeline that refuses a model after opening its graph
    // must release it (the graph's weights stay in native memory otherwise), and the tests check that none is left open.
    private static readonly ConcurrentDictionary<string, int> OpenPerFile = new(StringComparer.Ordinal);
    private readonly string _fullPath;

    private OnnxBertSession(InferenceSession session, string path)
    {
        _session = session;
        Path = path;
        _fullPath = System.IO.Path.GetFullPath(path);
        OpenPerFile.AddOrUpdate(_fullPath, 1, (_, n) => n + 1);
        _inputs = [.. session.InputMetadata.Keys];
        foreach (var name in _inputs.Where(n => !KnownInputs.Contains(n)))
        {
            Dispose();
            throw new BertSharpException($"{path}: graph input '{name}' is not one of {string.Join(", ", KnownInputs)}; expected a BERT graph.");
        }
        if (!_inputs.Contains("input_ids"))
        {
            Dispose();
            throw new BertSharpException($"{path}: the graph has no 'input_ids' input; expected a BERT graph.");
        }
        // Every input is fed as int64: a graph declaring another type (int32 ids, float mask) failed at the first Run.
        foreach (var (name, meta) in session.InputMetadata)
        {
            if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Int64 || meta.Dimensions.Length is not (2 or 3))
            {
                var found = meta.IsTensor ? Invariant($"{meta.ElementDataType.ToString().ToLowerInvariant()} of rank {meta.Dimensions.Length}") : $"a {meta.OnnxValueType}";
                Dispose();
                throw new BertSharpException($"{path}: graph input '{name}' is {found}; " +
                    "expected int64 [batch, sequence] (or [batch, choices, sequence]) as torch.onnx.export writes BERT's inputs.");
            }
        }
        MultipleChoice = session.InputMetadata["input_ids"].Dimensions.Length == 3;
        OutputNames = [.. session.OutputMetadata.Keys];
    }

    /// <summary>The ONNX file.</summary>
    public string Path { get; }

    /// <summary>How many sessions over the graph file at <paramref name="path"/> are open (opened and not yet disposed) in this process.</summary>
    internal static int OpenSessions(string path) => OpenPerFile.TryGetValue(System.IO.Path.GetFullPath(path), out var n) ? n : 0;

    /// <summary>
    /// Whether the graph's inputs are [batch, choices, sequence] (a multiple-choice export); <see cref="Run(long[], long[], long[], int, int, string)"/>
    /// then feeds each row as one choice.
    /// </summary>
    internal bool MultipleChoice { get; }

    /// <summary>The graph's outputs in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>
    /// Opens <paramref name="path"/> with all of ORT's graph optimizations and <paramref name="threads"/> intra-op threads
    /// (0 = ORT's default); idle threads wait without spinning.
    /// </summary>
    public static OnnxBertSession Open(string path, int threads = 0)
    {
        if (Directory.Exists(path))
        {
            // It was "ONNX model not found" for a path that is there, as a directory (a model directory given as the graph).
            throw new BertSharpException($"{path}: is a directory; expected an ONNX model file (e.g. model.onnx in it).");
        }
        if (!File.Exists(path))
        {
            // "model.onnx" is looked for in the current directory, not beside the model: the message says where it looked.
            var where = System.IO.Path.IsPathRooted(path) ? "" : $" at {System.IO.Path.GetFullPath(path)} (a relative path is relative to the current directory)";
            throw new BertSharpException($"{path}: ONNX model not found{where}; write one with OnnxExport.Export.");
        }
        // ORT reads external data without checking it: a truncated file would be a protobuf error, an altered one other weights.
        BertSharp.Checkpoints.Onnx.OnnxExport.VerifyDataFiles(path);
        // Errors come back as exceptions and are reported once, by the caller: ORT's own log would print each again, in colour.
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        // Idle intra-op threads sleep instead of spinning, as libtorch's do (NativeEnvironment): a spinning thread takes the
        // core from the thread with the work, and from every other process, whenever the machine's cores are shared.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        if (threads > 0)
        {
            options.IntraOpNumThreads = threads;
            options.InterOpNumThreads = 1;
        }
        try
        {
            return new OnnxBertSession(new InferenceSession(path, options), path);
        }
        catch (OnnxRuntimeException e)
        {
            // ORT starts its reason with "Load model from PATH failed:", which named the file a second time.
            var reason = e.Message.ReplaceLineEndings(" ").Replace($"Load model from {path} failed:", "", StringComparison.Ordinal).Trim().TrimEnd('.');
            throw new BertSharpException($"{path}: ONNX Runtime cannot load the model ({reason}).", e);
        }
    }

    /// <summary>
    /// Checks that <paramref name="output"/> is [batch, <paramref name="width"/>] as far as the graph declares it (a dynamic
    /// axis passes; <see cref="RequireShape"/> checks each result), so that a graph exported for another head (token
    /// logits [batch, seq, labels], span logits) is refused when opened instead of being misread.
    /// </summary>
    /// <param name="output">The output's name.</param>
    /// <param name="width">Values per row, e.g. the classifier's number of labels.</param>
    /// <param name="what">What the values are, for the message.</param>
    internal void RequireOutput(string output, long width, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var meta = _session.OutputMetadata[output];
        var dims = meta.Dimensions.Select((d, i) => d >= 0 ? (long?)d : null).ToArray();
        if (dims.Length != 2 || (dims[1] is { } w && w != width))
        {
            var shown = meta.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : meta.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } name ? name : "?");
            throw new BertSharpException(Invariant($"{Path}: output '{output}' is [{string.Join(", ", shown)}]; expected [batch, {width}] ({what}). Was the graph exported from another model or head?"));
        }
    }

    /// <summary>Checks a result of <see cref="Run(long[], long[], long[], int, int, string)"/> against [<paramref name="batch"/>, <paramref name="width"/>].</summary>
    internal void RequireShape(string output, long[] shape, int batch, long width, string what)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length != 2 || shape[0] != batch || shape[1] != width)
        {
            throw new BertSharpException(Invariant($"{Path}: output '{output}' came back as [{ShapeText.Join(shape)}]; expected [{batch}, {width}] ({what}). Was the graph exported from another model or head?"));
        }
    }

    /// <summary>The output named <paramref name="preferred"/>, else the graph's first output.</summary>
    public string Output(string preferred) => OutputNames.Contains(preferred) ? preferred : OutputNames[0];

    /// <summary>
    /// Runs the graph on one padded batch and returns the float output <paramref name="output"/> (row-major) with its shape.
    /// A multiple-choice graph gets the batch as [batch, 1, seq] (one choice per row), so its <c>last_hidden_state</c> is
    /// [batch, seq, hidden] as any other graph's.
    /// </summary>
    /// <param name="ids">input_ids [batch·seq].</param>
    /// <param name="mask">attention_mask [batch·seq].</param>
    /// <param name="types">token_type_ids [batch·seq].</param>
    /// <param name="batch">Rows.</param>
    /// <param name="seq">Columns.</param>
    /// <param name="output">Output name.</param>
    public (float[] Data, long[] Shape) Run(long[] ids, long[] mask, long[] types, int batch, int seq, string output) =>
        Run(ids, mask, types, MultipleChoice ? [batch, 1, seq] : [batch, seq], output);

    /// <summary>
    /// Runs the graph on inputs of any shape (e.g. [batch, choices, seq] for a multiple-choice export) and returns the float
    /// output <paramref name="output"/> (row-major) with its shape.
    /// </summary>
    /// <param name="ids">input_ids, row-major.</param>
    /// <param name="mask">attention_mask, row-major.</param>
    /// <param name="types">token_type_ids, row-major.</param>
    /// <param name="shape">The inputs' shape.</param>
    /// <param name="output">Output name.</param>
    public (float[] Data, long[] Shape) Run(long[] ids, long[] mask, long[] types, long[] shape, string output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var values = new List<OrtValue>(3);
        try
        {
            foreach (var name in _inputs)
            {
                var data = name switch { "input_ids" => ids, "attention_mask" => mask, _ => types };
                values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
            }
            using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            using var results = _session.Run(runOptions, _inputs, values, [output]);
            var result = results[0];
            return (result.GetTensorDataAsSpan<float>().ToArray(), result.GetTensorTypeAndShape().Shape);
        }
        catch (OnnxRuntimeException e)
        {
            // e.g. a graph exported from another model: token ids beyond its vocabulary, positions beyond its table.
            throw new BertSharpException($"{Path}: ONNX Runtime cannot run the graph on these inputs ({e.Message.ReplaceLineEndings(" ")}); " +
                "expected a graph exported from this model (its vocabulary, positions and input shapes).", e);
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>Pads token ids / type ids of one batch into the flat int64 arrays <see cref="Run(long[], long[], long[], int, int, string)"/> takes (<see cref="Batching.PadArrays"/>).</summary>
    internal static (long[] Ids, long[] Mask, long[] Types, int Seq) Collate(IReadOnlyList<(IReadOnlyList<int> Ids, IReadOnlyList<int> Types)> rows, int padId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var p = Batching.PadArrays([.. rows.Select(r => r.Ids)], [.. rows.Select(r => r.Types)], padId);
        return (p.Ids, p.Mask, p.Types, p.Width);
    }

    /// <summary>Rows for <see cref="Collate"/> from tokenizer encodings.</summary>
    internal static (IReadOnlyList<int>, IReadOnlyList<int>) Row(BertEncoding e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return (e.Ids, e.TypeIds);
    }

    /// <summary>Releases the ONNX Runtime session and its native memory; a second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _session.Dispose();
        OpenPerFile.AddOrUpdate(_fullPath, 0, (_, n) => n - 1);
    }
}
