using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>How token vectors become one sentence vector.</summary>
public enum Pooling
{
    /// <summary>The last hidden state of [CLS] (position 0).</summary>
    Cls,

    /// <summary>The mean of the last hidden states over real tokens (attention mask 1), special tokens included.</summary>
    Mean,
}

/// <summary>Options of <see cref="FeatureExtraction"/>.</summary>
/// <param name="Pooling">CLS or masked mean pooling.</param>
/// <param name="Normalize">Scale each vector to unit L2 norm.</param>
/// <param name="MaxLength">Inputs are truncated to this many tokens (null or larger = the model's maximum).</param>
/// <param name="BatchSize">Inputs per forward pass.</param>
public sealed record FeatureExtractionOptions(Pooling Pooling = Pooling.Cls, bool Normalize = false, int? MaxLength = null, int BatchSize = 32)
{
    /// <summary>
    /// Lower-case every text as Python's <c>str.lower</c> does before tokenizing, as a sentence-transformers model whose
    /// sentence_bert_config.json sets <c>do_lower_case</c> does in its Transformer module (its cased vocabulary then sees only
    /// lower-case text).
    /// </summary>
    public bool LowerCase { get; init; }

    /// <summary>The text as the tokenizer reads it.</summary>
    internal string Input(string text) => LowerCase ? PythonText.Lower(text) : text;
}

/// <summary>Sentence embeddings from any BERT model's encoder (the head, if any, is not used).</summary>
public sealed class FeatureExtraction : InferencePipeline<BertPreTrainedModel>
{
    /// <summary>
    /// A pipeline over an already loaded <paramref name="model"/>, on the device the model is on
    /// (<see cref="Load(string, string)"/> loads a directory).
    /// </summary>
    /// <param name="model">
    /// Any BERT model; only its encoder (<see cref="BertPreTrainedModel.Bert"/>) runs; it is switched to evaluation
    /// mode, which every other user of it sees too.
    /// </param>
    /// <param name="tokenizer">
    /// The model's tokenizer; its vocabulary must fit the model's <see cref="BertConfig.VocabSize"/>.
    /// </param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes <paramref name="model"/> as well.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="tokenizer"/> is null.</exception>
    /// <exception cref="BertSharpException">The tokenizer has more tokens than the model has embeddings.</exception>
    public FeatureExtraction(BertPreTrainedModel model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>
    /// Loads the model and tokenizer of <paramref name="modelDir"/> (any BERT architecture; a checkpoint lacking encoder
    /// weights is refused, see <see cref="RequiredWeights"/>).
    /// </summary>
    public static FeatureExtraction Load(string modelDir, string device = "auto")
    {
        TorchRuntime.EnsureLoaded();
        var config = BertPretrained.LoadConfig(modelDir, out var dir);
        return TypedModelNames.Load(modelDir, dir, () =>
        {
            // The resolved directory: a Hub id is no directory of its own.
            var tokenizer = BertPretrained.LoadTokenizer(dir, config);
            var model = BertPretrained.Load(null, dir, config, out var report);
            try
            {
                RequiredWeights.CheckEncoder(report, modelDir);
                model.to(TorchRuntime.ResolveDevice(device));
            }
            catch
            {
                model.Dispose();
                throw;
            }
            return new FeatureExtraction(model, tokenizer, ownsModel: true);
        });
    }

    /// <summary>
    /// Loads <paramref name="modelDir"/> with <paramref name="backend"/> running the forward pass: with ONNX Runtime the graph's
    /// <c>last_hidden_state</c> (else its first output) is pooled exactly as the TorchSharp model's is.
    /// </summary>
    public static FeatureExtraction Load(string modelDir, InferenceBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var pipe = Load(modelDir);
        try
        {
            return pipe.UseBackend(backend);
        }
        catch
        {
            pipe.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the forward pass with <paramref name="backend"/> from now on (ONNX Runtime: the graph must have a
    /// <c>last_hidden_state</c> output, as every <c>bert export-onnx</c> graph has); returns this pipeline.
    /// </summary>
    public FeatureExtraction UseBackend(InferenceBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.OnnxPath is not { } path)
        {
            return this;
        }
        var session = OnnxBertSession.Open(path, backend.Threads);
        try
        {
            return UseSession(session, ownsSession: true);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the forward pass on <paramref name="session"/> from now on; without <paramref name="ownsSession"/> its owner
    /// disposes it (a served classifier shares its graph, which would otherwise be loaded twice).
    /// </summary>
    internal FeatureExtraction UseSession(OnnxBertSession session, bool ownsSession)
    {
        if (!session.OutputNames.Contains("last_hidden_state"))
        {
            throw new BertSharpException($"{session.Path}: the graph has no 'last_hidden_state' output (outputs: {string.Join(", ", session.OutputNames)}); embeddings need it.");
        }
        if (_ownsOnnx)
        {
            _onnx?.Dispose();
        }
        _onnx = session;
        _ownsOnnx = ownsSession;
        return this;
    }

    private OnnxBertSession? _onnx;
    private bool _ownsOnnx;

    /// <summary>The ONNX Runtime session running the forward pass, or null for TorchSharp.</summary>
    public OnnxBertSession? OnnxSession => _onnx;

    /// <summary>Hidden size = length of every vector returned.</summary>
    public int Dimension => Model.Config.HiddenSize;

    /// <summary>One vector [hidden] per text, in input order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, FeatureExtractionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var o = options ?? new FeatureExtractionOptions();
        var encodeOptions = new EncodeOptions { MaxLength = EffectiveMaxLength(o.MaxLength), Truncation = TruncationStrategy.LongestFirst };
        var encodings = Tokenizer.EncodeBatch([.. texts.Select(t => (o.Input(t), (string?)null))], encodeOptions);
        var result = new float[texts.Count][];
        foreach (var batch in Batching.PlanByLength([.. encodings.Select(e => e.Length)], o.BatchSize))
        {
            var rows = _onnx is null ? Run(() => Pool([.. batch.Select(i => encodings[i])], o)) : PoolOnnx(_onnx, [.. batch.Select(i => encodings[i])], o);
            for (var r = 0; r < batch.Length; r++)
            {
                result[batch[r]] = rows[r];
            }
        }
        return result;
    }

    private float[][] Pool(IReadOnlyList<BertEncoding> encodings, FeatureExtractionOptions o)
    {
        var input = Batching.Pad(encodings, Tokenizer.PadId, Device);
        var hidden = Model.Bert.Forward(input).LastHiddenState;
        Tensor pooled;
        if (o.Pooling == Pooling.Cls)
        {
            pooled = hidden.select(1, 0);
        }
        else
        {
            var mask = input.AttentionMask!.unsqueeze(-1).to(hidden.dtype);
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(StableScalars.Of(1.0));
        }
        if (o.Normalize)
        {
            pooled = pooled / pooled.norm(1, keepdim: true).clamp_min(StableScalars.Of(1e-12));
        }
        var flat = InferenceBatch.ToFloats(pooled);
        var width = (int)pooled.shape[1];
        return [.. Enumerable.Range(0, encodings.Count).Select(r => flat[(r * width)..((r + 1) * width)])];
    }

    private float[][] PoolOnnx(OnnxBertSession session, IReadOnlyList<BertEncoding> encodings, FeatureExtractionOptions o)
    {
        var (ids, mask, types, seq) = OnnxBertSession.Collate([.. encodings.Select(OnnxBertSession.Row)], Tokenizer.PadId);
        var (hidden, shape) = session.Run(ids, mask, types, encodings.Count, seq, "last_hidden_state");
        NonFiniteOutputException.ThrowIfNotFinite(hidden, "outputs");
        var width = (int)shape[^1];
        var result = new float[encodings.Count][];
        for (var r = 0; r < encodings.Count; r++)
        {
            var v = new double[width];
            if (o.Pooling == Pooling.Cls)
            {
                for (var k = 0; k < width; k++)
                {
                    v[k] = hidden[(r * seq * width) + k];
                }
            }
            else
            {
                var n = encodings[r].Length;
                for (var t = 0; t < n; t++)
                {
                    var row = ((r * seq) + t) * width;
                    for (var k = 0; k < width; k++)
                    {
                        v[k] += hidden[row + k];
                    }
                }
                for (var k = 0; k < width; k++)
                {
                    v[k] /= Math.Max(n, 1);
                }
            }
            var scale = o.Normalize ? 1.0 / Math.Max(Math.Sqrt(v.Sum(x => x * x)), 1e-12) : 1.0;
            result[r] = [.. v.Select(x => (float)(x * scale))];
        }
        return result;
    }

    /// <summary>Also disposes the ONNX Runtime session when this pipeline opened it; then as the base class.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsOnnx)
        {
            _onnx?.Dispose();
        }
        base.Dispose(disposing);
    }
}
