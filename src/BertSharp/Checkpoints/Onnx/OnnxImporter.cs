using System.Globalization;
using BertSharp.Data;
using BertSharp.Modeling;
using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>A weight recovered from an ONNX graph, in HF layout (Linear weights [out, in]).</summary>
/// <param name="Data">Values, row-major.</param>
/// <param name="Shape">Dimensions.</param>
public sealed record OnnxWeight(float[] Data, long[] Shape);

/// <summary>What can be set when a value cannot be derived from the graph (or to override what was derived).</summary>
/// <param name="Architecture">Model class, e.g. <c>BertModel</c> to import only the encoder of a graph whose head cannot be derived.</param>
/// <param name="NumAttentionHeads">Attention heads, when the graph's reshape constants do not tell.</param>
/// <param name="LayerNormEps">LayerNorm epsilon, when the graph's LayerNorm is not recognised.</param>
/// <param name="HiddenAct">FFN activation, one of <see cref="BertConfig.SupportedActivations"/>, when the graph's activation is not recognised.</param>
/// <param name="ProblemType">regression, single_label_classification or multi_label_classification (a graph only shows logits).</param>
/// <param name="Labels">Label names in class order (a graph has no label names).</param>
/// <param name="Lowercase">Whether the tokenizer lowercases; null derives it from the vocabulary (no upper-case word piece = uncased).</param>
/// <param name="Overwrite">Allow writing into a non-empty directory that BertSharp did not write (only its own files are replaced).</param>
public sealed record OnnxImportOptions(
    string? Architecture = null, int? NumAttentionHeads = null, double? LayerNormEps = null, string? HiddenAct = null,
    string? ProblemType = null, IReadOnlyList<string>? Labels = null, bool? Lowercase = null, bool Overwrite = false);

/// <summary>A BERT recovered from an ONNX graph.</summary>
/// <param name="Config">The derived configuration.</param>
/// <param name="Architecture">HF model class (<c>BertModel</c>, <c>BertForSequenceClassification</c>, …).</param>
/// <param name="Weights">Checkpoint key (base keys without <c>bert.</c>) → weight in HF layout.</param>
/// <param name="Notes">How each derived value was found, one line each.</param>
/// <param name="Opset">The model's ai.onnx opset.</param>
/// <param name="Producer">producer_name and producer_version of the model.</param>
public sealed record OnnxBert(BertConfig Config, string Architecture, IReadOnlyDictionary<string, OnnxWeight> Weights,
    IReadOnlyList<string> Notes, long Opset, string Producer);

/// <summary>
/// Recovers a BERT (config + HF-named weights) from an ONNX graph exported by PyTorch / HF (torch 1.x and 2.x exporters,
/// opsets 11–17, decomposed or fused LayerNorm, erf or tanh GELU): initializers with checkpoint names are taken by name,
/// anonymous Linear weights by following MatMul/Gemm → Add of a named bias, and the shapes the config needs are read from the
/// weights, the reshape constants and the LayerNorm / activation nodes.
/// </summary>
internal sealed class OnnxImporter
{
    private readonly OnnxGraph _g;
    private readonly OnnxTensorReader _reader;
    private readonly string _source;
    private readonly OnnxImportOptions _options;
    private readonly Dictionary<string, OnnxWeight> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _valueOfKey = new(StringComparer.Ordinal);
    private readonly List<string> _notes = [];
    private readonly List<string> _unnamedLinears = [];
    private int _anonymous;

    private OnnxImporter(ModelProto model, OnnxTensorReader reader, string source, OnnxImportOptions options)
    {
        _g = new OnnxGraph(model.Graph);
        _reader = reader;
        _source = source;
        _options = options;
    }

    public static OnnxBert Import(ModelProto model, OnnxTensorReader reader, string source, OnnxImportOptions options)
    {
        var importer = new OnnxImporter(model, reader, source, options);
        var (config, architecture) = importer.Run();
        return new OnnxBert(config, architecture, importer._weights, importer._notes, OnnxModelFile.DefaultOpset(model),
            $"{model.ProducerName} {model.ProducerVersion}".Trim());
    }

    private BertSharpException Error(string message) => new($"{_source}: {message}");

    // ORT's fused operators merge the Linear weights (q, k, v in one), its quantized ones store them as int8: neither gives
    // back a checkpoint, and the missing weight alone did not say why.
    private static readonly HashSet<string> FusedOrQuantized = new(StringComparer.Ordinal)
    {
        "Attention", "MultiHeadAttention", "EmbedLayerNormalization", "SkipLayerNormalization", "DynamicQuantizeMatMul", "MatMulInteger",
        "DynamicQuantizeLinear", "QLinearMatMul", "QAttention", "MatMulIntegerToFloat", "DequantizeLinear",
    };

    /// <summary>", not a graph fused or quantized for ONNX Runtime (its A, B operators)" when the graph has such operators, else "".</summary>
    private string RuntimeOnlyOps()
    {
        var ops = _g.Graph.Node.Select(n => n.OpType).Where(FusedOrQuantized.Contains).Distinct().Order(StringComparer.Ordinal).ToList();
        return ops.Count == 0 ? "" : $", not a graph fused or quantized for ONNX Runtime (its {string.Join(", ", ops)} operators); import the float graph it was made from";
    }

    private (BertConfig, string) Run()
    {
        TakeNamedWeights();
        TakeAnonymousLinearWeights();
        if (!_weights.ContainsKey("embeddings.word_embeddings.weight"))
        {
            var names = string.Join(", ", _g.Graph.Initializer.Take(4).Select(t => t.Name));
            throw Error($"not a BERT graph: no initializer 'embeddings.word_embeddings.weight' (or 'bert.embeddings.word_embeddings.weight'); " +
                        $"expected a BERT-family model exported by PyTorch (initializers: {(names.Length == 0 ? "none" : names + ", …")}).");
        }
        foreach (var key in OnnxBertKeys.EmbeddingTensors.Where(k => !_weights.ContainsKey(k)))
        {
            throw Error($"not a BERT graph: no '{key}' among the initializers; expected the BERT embeddings (word, position, token type, LayerNorm).");
        }
        var layers = _weights.Keys.Select(OnnxBertKeys.Layer).DefaultIfEmpty(-1).Max() + 1;
        if (layers == 0)
        {
            throw Error("not a BERT graph: no encoder layer weights (encoder.layer.N.*) found by name or by following MatMul → Add of a named bias.");
        }
        for (var l = 0; l < layers; l++)
        {
            foreach (var t in OnnxBertKeys.LayerTensors)
            {
                var key = Invariant($"encoder.layer.{l}.{t}");
                if (!_weights.ContainsKey(key))
                {
                    throw Error(Invariant($"layer {l} has no '{key}' (neither a named initializer nor a MatMul followed by an Add of its named bias); ") +
                                $"expected a BERT encoder graph as PyTorch exports it{RuntimeOnlyOps()}.");
                }
            }
        }
        var word = _weights["embeddings.word_embeddings.weight"].Shape;
        var config = new BertConfig
        {
            VocabSize = (int)word[0],
            HiddenSize = (int)word[1],
            NumHiddenLayers = layers,
            IntermediateSize = (int)_weights["encoder.layer.0.intermediate.dense.weight"].Shape[0],
            MaxPositionEmbeddings = (int)_weights["embeddings.position_embeddings.weight"].Shape[0],
            TypeVocabSize = (int)_weights["embeddings.token_type_embeddings.weight"].Shape[0],
            // Dropout is inactive in an exported (eval) graph; HF's defaults are what fine-tuning expects.
            HiddenDropoutProb = 0.1,
            AttentionProbsDropoutProb = 0.1,
        };
        _notes.Add(Invariant($"vocab {config.VocabSize}, hidden {config.HiddenSize}, max positions {config.MaxPositionEmbeddings}, type vocab {config.TypeVocabSize} (embedding shapes)"));
        _notes.Add(Invariant($"{layers} layers (encoder.layer.N weights), intermediate {config.IntermediateSize} (intermediate.dense weight)"));
        var hidden = config.HiddenSize;
        config.NumAttentionHeads = FromGraph(_options.NumAttentionHeads is not null, _options.NumAttentionHeads ?? 0, () => DeriveHeads(hidden), "num_heads", (a, b) => a == b);
        config.LayerNormEps = FromGraph(_options.LayerNormEps is not null, _options.LayerNormEps ?? 0, DeriveEps, "layer_norm_eps",
            (a, b) => Math.Abs(a - b) <= 1e-6 * Math.Max(Math.Abs(a), Math.Abs(b)));
        // Before the comparison with the graph, so that a name no config may hold is refused as such, not as contradicting the
        // graph (RELU for a gelu graph).
        if (_options.HiddenAct is { } act)
        {
            BertConfig.CheckActivation(act, _source, BertSharpException.Field("hidden_act"));
        }
        config.HiddenAct = FromGraph(_options.HiddenAct is not null, _options.HiddenAct ?? "", DeriveActivation, "hidden_act",
            (given, derived) => SameActivation(given, derived));
        if (config.HiddenSize % config.NumAttentionHeads != 0)
        {
            throw Error(Invariant($"hidden size {config.HiddenSize} is not a multiple of {config.NumAttentionHeads} attention heads."));
        }
        var architecture = DeriveArchitecture(config);
        config.Architectures = [architecture];
        _notes.Add(_weights.ContainsKey("pooler.dense.weight") ? "pooler: present" : "pooler: absent from the graph");
        config.Validate(_source);
        return (config, architecture);
    }

    private void TakeNamedWeights()
    {
        foreach (var t in _g.Graph.Initializer)
        {
            if (OnnxBertKeys.Canonical(t.Name) is { } key && OnnxTensorReader.IsFloat(t) && !_weights.ContainsKey(key))
            {
                _weights[key] = new OnnxWeight(_reader.Floats(t), [.. t.Dims]);
                _valueOfKey[key] = t.Name;
            }
        }
    }

    /// <summary>
    /// Linear weights the exporter folded into anonymous [in, out] MatMul initializers (torch 1.x numbers, torch 2.x
    /// <c>onnx::MatMul_N</c>): the Add after the MatMul (or Gemm's C input) names the bias, and so the weight.
    /// </summary>
    private void TakeAnonymousLinearWeights()
    {
        foreach (var node in _g.Graph.Node.Where(n => n.OpType is "MatMul" or "Gemm" && n.Input.Count >= 2))
        {
            var weightValue = _g.Resolve(node.Input[1]);
            var w = _g.Constant(weightValue);
            if (w is null || !OnnxTensorReader.IsFloat(w) || w.Dims.Count != 2 || OnnxBertKeys.Canonical(weightValue) is not null)
            {
                continue;
            }
            var biasValue = node.OpType == "Gemm" && node.Input.Count > 2 ? node.Input[2] : BiasOfMatMul(node);
            var biasKey = biasValue is null ? null : OnnxBertKeys.Canonical(_g.Resolve(biasValue));
            if (biasKey is null || !biasKey.EndsWith(".bias", StringComparison.Ordinal))
            {
                _unnamedLinears.Add($"{(node.Name.Length > 0 ? node.Name : node.OpType)} with weight '{weightValue}' [{ShapeText.Join(w.Dims)}]");
                continue;
            }
            if (biasKey == "cls.predictions.bias")
            {
                // The MLM decoder: its weight is the (named) word-embedding matrix, tied.
                continue;
            }
            var key = biasKey[..^"bias".Length] + "weight";
            if (_weights.ContainsKey(key))
            {
                continue;
            }
            var transB = node.OpType == "Gemm" && OnnxGraph.Attribute(node, "transB") is { I: 1 };
            var data = _reader.Floats(w);
            _weights[key] = transB ? new OnnxWeight(data, [.. w.Dims]) : Transpose(data, (int)w.Dims[0], (int)w.Dims[1]);
            _valueOfKey[key] = weightValue;
            _anonymous++;
        }
        if (_anonymous > 0)
        {
            _notes.Add(Invariant($"{_anonymous} Linear weights from anonymous MatMul initializers (followed to the Add of their named bias, transposed)"));
        }
    }

    private string? BiasOfMatMul(NodeProto matmul)
    {
        var add = _g.NextOfType(matmul.Output[0], "Add");
        if (add is null)
        {
            return null;
        }
        var other = add.Input.FirstOrDefault(i => i != matmul.Output[0] && _g.Constant(i) is not null);
        return other;
    }

    /// <summary>The [cols, rows] transpose of a row-major [rows, cols] matrix (ONNX MatMul weights are [in, out], Linear's [out, in]).</summary>
    internal static OnnxWeight Transpose(float[] data, int rows, int cols)
    {
        var t = new float[data.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = data[(r * cols) + c];
            }
        }
        return new OnnxWeight(t, [cols, rows]);
    }

    /// <summary>The node that adds <paramref name="key"/>'s bias (Add, Gemm or a fused op), i.e. the Linear's output.</summary>
    private NodeProto? BiasNode(string key)
    {
        if (!_valueOfKey.TryGetValue(key, out var value))
        {
            return null;
        }
        return _g.Graph.Node.FirstOrDefault(n => n.Input.Any(i => _g.Resolve(i) == value) && n.OpType is "Add" or "Gemm");
    }

    /// <summary>
    /// The value the graph tells, else <paramref name="given"/>. A given value that contradicts the graph is refused: taken as
    /// it was, it silently made another model (8 heads over a graph that splits into 4 gave other outputs, and no error).
    /// </summary>
    private T FromGraph<T>(bool isGiven, T given, Func<T> derive, string field, Func<T, T, bool> agrees) where T : notnull
    {
        if (!isGiven)
        {
            return derive();
        }
        T derived;
        try
        {
            derived = derive();
        }
        catch (BertSharpException)
        {
            _notes.Add($"{field} {Shown(given)} (given; the graph does not tell)");
            return given;
        }
        if (!agrees(given, derived))
        {
            throw Error($"{BertSharpException.Field(field)} {Shown(given)} contradicts the graph: {_notes[^1]}; expected the graph's value, or none.");
        }
        return given;
    }

    private static string Shown<T>(T value) where T : notnull => value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value.ToString()!;

    // Names of one function: HF's gelu_new, gelu_pytorch_tanh and gelu_fast are the tanh form, swish is silu. Compared as
    // written, as ACT2FN takes them: a given name is one of BertConfig.SupportedActivations by now, and is kept as given.
    private static bool SameActivation(string given, string derived)
    {
        static string Canonical(string a) => a switch
        {
            "gelu_pytorch_tanh" or "gelu_fast" => "gelu_new",
            "gelu_python" => "gelu",
            "swish" => "silu",
            var other => other,
        };
        return Canonical(given) == Canonical(derived);
    }

    private int DeriveHeads(int hidden)
    {
        // The [batch, seq, heads, head_dim] reshape after the query projection.
        if (BiasNode("encoder.layer.0.attention.self.query.bias") is { } q)
        {
            var reshape = _g.NextOfType(q.Output[0], "Reshape");
            if (reshape is not null && ShapeValues(reshape.Input[1]) is { Count: >= 2 } dims)
            {
                var (h, d) = (dims[^2], dims[^1]);
                if (h > 0 && d > 0 && h * d == hidden)
                {
                    _notes.Add(Invariant($"{h} attention heads of size {d} (reshape constants after the query projection)"));
                    return (int)h;
                }
                if (h > 0 && d == -1 && hidden % h == 0)
                {
                    _notes.Add(Invariant($"{h} attention heads (reshape constants after the query projection)"));
                    return (int)h;
                }
            }
        }
        // Fallback: the 1/sqrt(head_dim) scaling before the attention softmax.
        foreach (var softmax in _g.Graph.Node.Where(n => n.OpType == "Softmax"))
        {
            var node = _g.Producer(softmax.Input[0]);
            for (var depth = 0; node is not null && depth < 4; depth++)
            {
                if (node.OpType is "Div" or "Mul" && node.Input.Select(i => _g.Constant(i)).FirstOrDefault(c => c is not null && OnnxTensorReader.Count(c) == 1) is { } c)
                {
                    var v = (double)_reader.Floats(c)[0];
                    var headDim = (int)Math.Round(node.OpType == "Div" ? v * v : 1.0 / (v * v));
                    if (headDim > 0 && hidden % headDim == 0)
                    {
                        _notes.Add(Invariant($"{hidden / headDim} attention heads of size {headDim} (attention score scale {v:G6})"));
                        return hidden / headDim;
                    }
                }
                node = node.Input.Count > 0 ? _g.Producer(node.Input[0]) : null;
            }
        }
        throw Error($"cannot derive the number of attention heads (no reshape constants or score scale recognised); pass {BertSharpException.Field("num_heads")}.");
    }

    /// <summary>The known entries of a shape value: a constant, or a Concat of constants and computed dims (-2 for those).</summary>
    private List<long>? ShapeValues(string value)
    {
        if (_g.Constant(value) is { } c)
        {
            return [.. _reader.Int64s(c)];
        }
        if (_g.Producer(value) is { OpType: "Concat" } concat)
        {
            var result = new List<long>();
            foreach (var i in concat.Input)
            {
                if (_g.Constant(i) is { } part)
                {
                    result.AddRange(_reader.Int64s(part));
                }
                else
                {
                    result.Add(-2);
                }
            }
            return result;
        }
        return null;
    }

    private double DeriveEps()
    {
        var weightValue = _valueOfKey["embeddings.LayerNorm.weight"];
        foreach (var n in _g.Graph.Node.Where(n => n.Input.Any(i => _g.Resolve(i) == weightValue)))
        {
            if (n.OpType is "LayerNormalization" or "SkipLayerNormalization" or "EmbedLayerNormalization")
            {
                var eps = OnnxGraph.Attribute(n, "epsilon") is { } a ? a.F : 1e-5f;
                _notes.Add(Invariant($"LayerNorm eps {eps:G6} ({n.OpType} epsilon)"));
                return Round(eps);
            }
            // Decomposed LayerNorm: (x - mean) / sqrt(var + eps) * weight + bias; eps is the small constant added before Sqrt.
            var frontier = new Queue<(string Value, int Depth)>(n.Input.Select(i => (i, 0)));
            while (frontier.TryDequeue(out var item))
            {
                if (item.Depth > 4 || _g.Producer(item.Value) is not { } p)
                {
                    continue;
                }
                if (p.OpType == "Add" && p.Input.Select(i => _g.Constant(i)).FirstOrDefault(c => c is not null && OnnxTensorReader.Count(c) == 1) is { } c
                    && _g.Consumers(p.Output[0]).Any(x => x.OpType == "Sqrt"))
                {
                    var eps = _reader.Floats(c)[0];
                    _notes.Add(Invariant($"LayerNorm eps {eps:G6} (constant added under the Sqrt)"));
                    return Round(eps);
                }
                foreach (var i in p.Input)
                {
                    frontier.Enqueue((i, item.Depth + 1));
                }
            }
        }
        throw Error($"cannot derive the LayerNorm epsilon (no LayerNormalization node or decomposed LayerNorm recognised); pass {BertSharpException.Field("layer_norm_eps")}.");
    }

    // float32 constants such as 1e-12f read back as 9.9999999e-13; the config wants the decimal value the exporter started from.
    private static double Round(float eps) => double.Parse(eps.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private string DeriveActivation()
    {
        var start = BiasNode("encoder.layer.0.intermediate.dense.bias")
                    ?? throw Error($"cannot find the intermediate (FFN) projection of layer 0; pass {BertSharpException.Field("hidden_act")}.");
        var ops = new List<NodeProto>();
        var seen = new HashSet<NodeProto>();
        var frontier = new Queue<string>(start.Output);
        while (frontier.TryDequeue(out var value) && ops.Count < 40)
        {
            foreach (var c in _g.Consumers(value))
            {
                if (c.OpType is "MatMul" or "Gemm" || !seen.Add(c))
                {
                    continue;
                }
                ops.Add(c);
                foreach (var o in c.Output)
                {
                    frontier.Enqueue(o);
                }
            }
        }
        var types = ops.Select(o => o.OpType).ToHashSet(StringComparer.Ordinal);
        bool HasConstant(float value) => ops.Any(o => o.Input.Select(i => _g.Constant(i)).Any(c =>
            c is not null && OnnxTensorReader.IsFloat(c) && OnnxTensorReader.Count(c) == 1 && Math.Abs(_reader.Floats(c)[0] - value) < 1e-4));
        string act;
        if (ops.FirstOrDefault(o => o.OpType == "Gelu") is { } gelu)
        {
            act = OnnxGraph.Attribute(gelu, "approximate") is { } a && a.S.ToStringUtf8() == "tanh" ? "gelu_pytorch_tanh" : "gelu";
        }
        else if (types.Contains("Erf") || types.Contains("BiasGelu"))
        {
            act = "gelu";
        }
        else if (types.Contains("FastGelu") || (types.Contains("Tanh") && HasConstant(0.044715f)))
        {
            act = "gelu_new";
        }
        else if (types.Contains("Relu"))
        {
            act = "relu";
        }
        else if (types.Contains("Sigmoid"))
        {
            act = HasConstant(1.702f) ? "quick_gelu" : "silu";
        }
        else
        {
            throw Error($"cannot derive the FFN activation (ops after the intermediate projection: {string.Join(", ", types.Order())}); pass {BertSharpException.Field("hidden_act")}.");
        }
        _notes.Add($"hidden_act {act} ({string.Join(", ", types.Order(StringComparer.Ordinal))} after the intermediate projection)");
        return act;
    }

    private string DeriveArchitecture(BertConfig config)
    {
        var heads = _weights.Keys.Where(OnnxBertKeys.IsHead).ToHashSet(StringComparer.Ordinal);
        if (_options.Architecture is { } forced)
        {
            _notes.Add($"architecture {forced} (as given)");
            if (forced != nameof(BertModel))
            {
                ApplyLabels(config, heads);
            }
            return forced;
        }
        if (_unnamedLinears.Count > 0)
        {
            throw Error($"cannot derive the head: {_unnamedLinears[0]} is not a BERT weight and no named bias tells what it is " +
                        $"(expected classifier.*, qa_outputs.* or cls.* initializers); pass {BertSharpException.Field("architecture")} BertModel to import the encoder only, " +
                        $"or {BertSharpException.Field("architecture")} with the head's class.");
        }
        string architecture;
        if (heads.Any(k => k.StartsWith("qa_outputs.", StringComparison.Ordinal)))
        {
            architecture = nameof(BertForQuestionAnswering);
        }
        else if (heads.Any(k => k.StartsWith("cls.predictions.", StringComparison.Ordinal)))
        {
            architecture = heads.Any(k => k.StartsWith("cls.seq_relationship.", StringComparison.Ordinal)) ? nameof(BertForPreTraining) : nameof(BertForMaskedLM);
        }
        else if (heads.Any(k => k.StartsWith("cls.seq_relationship.", StringComparison.Ordinal)))
        {
            architecture = nameof(BertForNextSentencePrediction);
        }
        else if (heads.Contains("classifier.weight"))
        {
            architecture = ClassifierKind();
        }
        else
        {
            architecture = nameof(BertModel);
        }
        _notes.Add($"architecture {architecture} ({(heads.Count == 0 ? "no head weights" : string.Join(", ", heads.Order(StringComparer.Ordinal)))})");
        ApplyLabels(config, heads);
        return architecture;
    }

    /// <summary>Sequence vs token vs multiple-choice classification: what feeds the classifier and what follows it.</summary>
    private string ClassifierKind()
    {
        var node = BiasNode("classifier.bias");
        var linear = node?.OpType == "Add" && _g.Producer(node.Input.First(i => _g.Resolve(i) != _valueOfKey["classifier.bias"])) is { OpType: "MatMul" } mm ? mm : node;
        if (linear is null)
        {
            throw Error($"cannot derive the head: the classifier's Linear node was not found; pass {BertSharpException.Field("architecture")}.");
        }
        var input = _g.Producer(linear.Input[0]);
        while (input is { OpType: "Identity" or "Dropout" })
        {
            input = _g.Producer(input.Input[0]);
        }
        if (input?.OpType != "Tanh")
        {
            return nameof(BertForTokenClassification);
        }
        return _g.NextOfType(node!.Output[0], "Reshape") is not null ? nameof(BertForMultipleChoice) : nameof(BertForSequenceClassification);
    }

    private void ApplyLabels(BertConfig config, HashSet<string> heads)
    {
        if (!heads.Contains("classifier.weight"))
        {
            if (_options.Labels is not null || _options.ProblemType is not null)
            {
                throw Error($"{BertSharpException.Field("labels")} / {BertSharpException.Field("problem_type")}: the graph has no classifier head.");
            }
            return;
        }
        var n = (int)_weights["classifier.weight"].Shape[0];
        config.NumLabels = n;
        if (_options.Labels is { } labels)
        {
            if (labels.Count != n)
            {
                throw Error(Invariant($"{BertSharpException.Field("labels")}: {labels.Count} names given but the classifier has {n} outputs."));
            }
            // Written as given, a repeated or empty name made a model that every pipeline then refused to load.
            if (ClassNames.Fault(labels) is { } fault)
            {
                throw Error(Invariant($"{BertSharpException.Field("labels")} {string.Join(",", labels)}: {fault.What}; expected {n} distinct, non-empty names, one per class."));
            }
            config.Id2Label = new SortedDictionary<int, string>(labels.Select((l, i) => (l, i)).ToDictionary(x => x.i, x => x.l));
        }
        var sigmoid = BiasNode("classifier.bias") is { } b && _g.NextOfType(b.Output[0], "Sigmoid") is not null;
        config.ProblemType = _options.ProblemType ?? (sigmoid ? "multi_label_classification" : n == 1 ? "regression" : null);
        _notes.Add(Invariant($"{n} label(s){(config.ProblemType is { } p ? ", " + p : "")}"));
    }
}
