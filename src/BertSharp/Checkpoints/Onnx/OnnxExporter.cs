using System.Globalization;
using BertSharp.Modeling;
using Onnx;
using TorchSharp;
using static BertSharp.Checkpoints.Onnx.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// Writes the ONNX graph of a BertSharp model from the known BERT architecture (TorchSharp has no ONNX exporter): opset 17,
/// inputs <c>input_ids</c> / <c>attention_mask</c> / <c>token_type_ids</c> [batch, sequence] with dynamic axes, Linear layers
/// as MatMul of a pre-transposed [in, out] weight + Add of the named bias (the layout PyTorch exports and ONNX Runtime's
/// fusions look for), LayerNormalization nodes, and the head's outputs under HF's output names.
/// </summary>
internal sealed class OnnxExporter
{
    private readonly OnnxGraphBuilder _b = new();
    private readonly BertConfig _c;
    private readonly Dictionary<string, float[]> _w;
    private readonly Dictionary<string, long[]> _shape;

    private readonly bool _fused;

    private OnnxExporter(BertPreTrainedModel model, bool fused)
    {
        _fused = fused;
        _c = model.Config;
        _w = new Dictionary<string, float[]>(StringComparer.Ordinal);
        _shape = new Dictionary<string, long[]>(StringComparer.Ordinal);
        using var scope = torch.NewDisposeScope();
        foreach (var (name, t) in BertPretrained.StateDict(model))
        {
            var key = name.StartsWith(BertPreTrainedModel.BaseModelPrefix + ".", StringComparison.Ordinal)
                ? name[(BertPreTrainedModel.BaseModelPrefix.Length + 1)..]
                : name;
            _w[key] = t.data<float>().ToArray();
            _shape[key] = t.shape;
        }
    }

    /// <summary>
    /// The ONNX model of <paramref name="model"/> (weights inline). <paramref name="fused"/> writes ONNX Runtime's fused BERT
    /// operators (com.microsoft EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu / FastGelu) instead of
    /// their decomposition.
    /// </summary>
    public static ModelProto Build(BertPreTrainedModel model, bool fused = false)
    {
        var e = new OnnxExporter(model, fused);
        e.Write(model);
        var m = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "BertSharp",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = e._b.Graph,
            DocString = $"{model.GetType().Name} exported by BertSharp",
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        if (fused)
        {
            m.OpsetImport.Add(new OperatorSetIdProto { Domain = Microsoft, Version = 1 });
        }
        return m;
    }

    private void Write(BertPreTrainedModel model)
    {
        string ids = "input_ids", mask = "attention_mask", types = "token_type_ids";
        var choices = model is BertForMultipleChoice;
        foreach (var input in new[] { ids, mask, types })
        {
            if (choices)
            {
                _b.Input(input, DataType.Int64, "batch", "choices", "sequence");
            }
            else
            {
                _b.Input(input, DataType.Int64, "batch", "sequence");
            }
        }
        if (choices)
        {
            // Multiple choice runs the encoder on [batch * choices, seq], as HF's view(-1, seq) does.
            (ids, mask, types) = (Flatten(ids), Flatten(mask), Flatten(types));
        }
        string hidden;
        if (_fused)
        {
            var ids32 = _b.Node("Cast", [ids], "input_ids_int32", attributes: Int("to", (long)DataType.Int32));
            var types32 = _b.Node("Cast", [types], "token_type_ids_int32", attributes: Int("to", (long)DataType.Int32));
            var mask32 = _b.Node("Cast", [mask], "attention_mask_int32", attributes: Int("to", (long)DataType.Int32));
            hidden = _b.NodeN("EmbedLayerNormalization",
                [ids32, types32, Weight("embeddings.word_embeddings.weight"), Weight("embeddings.position_embeddings.weight"),
                 Weight("embeddings.token_type_embeddings.weight"), Weight("embeddings.LayerNorm.weight"), Weight("embeddings.LayerNorm.bias")],
                ["embeddings", "embeddings_mask_index"], Microsoft, Float("epsilon", (float)_c.LayerNormEps))[0];
            for (var l = 0; l < _c.NumHiddenLayers; l++)
            {
                hidden = FusedLayer(hidden, mask32, Invariant($"encoder.layer.{l}."));
            }
        }
        else
        {
            hidden = Embeddings(ids, types);
            var additiveMask = AttentionMask(mask);
            for (var l = 0; l < _c.NumHiddenLayers; l++)
            {
                hidden = Layer(hidden, additiveMask, Invariant($"encoder.layer.{l}."));
            }
        }
        var last = Rename(hidden, "last_hidden_state");
        string? pooled = null;
        if (model.Bert.HasPooler)
        {
            // pooler: tanh(dense(last_hidden_state[:, 0])), or of the masked mean with classifier_pooling mean.
            var first = _c.MeanPooling
                ? MaskedMean(last, mask)
                : _b.Node("Gather", [last, _b.Int64s("zero", [0], scalar: true)], "first_token", attributes: Int("axis", 1));
            pooled = _b.Node("Tanh", [Linear(first, "pooler.dense")], "pooler_output_value");
        }
        var H = _c.HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var L = _c.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var V = _c.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Every graph also returns last_hidden_state, so that any exported head serves sentence embeddings too.
        _b.Output(last, DataType.Float, choices ? "batch_choices" : "batch", "sequence", H);
        switch (model)
        {
            case BertModel:
                if (pooled is not null)
                {
                    _b.Output(Rename(pooled, "pooler_output"), DataType.Float, "batch", H);
                }
                break;
            case BertForSequenceClassification:
                _b.Output(Rename(Linear(pooled!, "classifier"), "logits"), DataType.Float, "batch", L);
                break;
            case BertForNextSentencePrediction:
                _b.Output(Rename(Linear(pooled!, "cls.seq_relationship"), "logits"), DataType.Float, "batch", "2");
                break;
            case BertForTokenClassification:
                _b.Output(Rename(Linear(last, "classifier"), "logits"), DataType.Float, "batch", "sequence", L);
                break;
            case BertForQuestionAnswering:
                var both = Linear(last, "qa_outputs");
                var parts = _b.NodeN("Split", [both, _b.Int64s("split", [1, 1])], ["start_split", "end_split"], attributes: Int("axis", -1));
                var axes = _b.Int64s("last_axis", [-1]);
                _b.Output(Rename(_b.Node("Squeeze", [parts[0], axes], "start_squeezed"), "start_logits"), DataType.Float, "batch", "sequence");
                _b.Output(Rename(_b.Node("Squeeze", [parts[1], axes], "end_squeezed"), "end_logits"), DataType.Float, "batch", "sequence");
                break;
            case BertForMultipleChoice:
                // [batch * choices, 1] scores back to [batch, choices], the shape taken from input_ids itself.
                var batchChoices = _b.Node("Slice", [_b.Node("Shape", ["input_ids"], "choice_input_shape"), _b.Int64s("slice_start", [0]), _b.Int64s("slice_end", [2])], "batch_choices_shape");
                var scores = _b.Node("Reshape", [Linear(pooled!, "classifier"), batchChoices], "choice_logits");
                _b.Output(Rename(scores, "logits"), DataType.Float, "batch", "choices");
                break;
            case BertForMaskedLM:
                _b.Output(Rename(MlmLogits(last), "logits"), DataType.Float, "batch", "sequence", V);
                break;
            case BertForPreTraining:
                _b.Output(Rename(MlmLogits(last), "prediction_logits"), DataType.Float, "batch", "sequence", V);
                _b.Output(Rename(Linear(pooled!, "cls.seq_relationship"), "seq_relationship_logits"), DataType.Float, "batch", "2");
                break;
            default:
                throw new BertSharpException($"ONNX export: {model.GetType().Name} is not supported.");
        }
    }

    /// <summary>[batch, choices, seq] → [batch * choices, seq].</summary>
    private string Flatten(string input) => _b.Node("Flatten", [input], input + "_flat", attributes: Int("axis", 2));

    /// <summary>An Identity giving <paramref name="value"/> the graph-output name <paramref name="name"/>.</summary>
    private string Rename(string value, string name)
    {
        var renamed = _b.Node("Identity", [value], name);
        return renamed == name ? renamed : throw new InvalidOperationException($"output name '{name}' is taken");
    }

    private string Embeddings(string ids, string types)
    {
        var word = _b.Node("Gather", [Weight("embeddings.word_embeddings.weight"), ids], "word_embeds");
        var segment = _b.Node("Gather", [Weight("embeddings.token_type_embeddings.weight"), types], "token_type_embeds");
        // positions 0..seq-1 from the input's second dimension.
        var shape = _b.Node("Shape", [ids], "input_shape");
        var seq = _b.Node("Gather", [shape, _b.Int64s("one", [1], scalar: true)], "seq_len", attributes: Int("axis", 0));
        var positions = _b.Node("Range", [_b.Int64s("range_start", [0], scalar: true), seq, _b.Int64s("range_step", [1], scalar: true)], "position_ids");
        var position = _b.Node("Gather", [Weight("embeddings.position_embeddings.weight"), positions], "position_embeds");
        // HF order: (word + token type) + position.
        var sum = _b.Node("Add", [_b.Node("Add", [word, segment], "embeds_sum"), position], "embeddings");
        return LayerNorm(sum, "embeddings.LayerNorm");
    }

    /// <summary>(1 - mask) * -10000 as [batch, 1, 1, seq], the additive mask HF's torch 1.x exports carry.</summary>
    // sum(hidden · mask) / max(sum(mask), 1e-9) over the sequence, as BertPooler.ForwardMean: [batch, hidden].
    private string MaskedMean(string hidden, string mask)
    {
        var m = _b.Node("Cast", [mask], "pool_mask_float", attributes: Int("to", (long)DataType.Float));
        m = _b.Node("Unsqueeze", [m, _b.Int64s("pool_axis2", [2])], "pool_mask_bs1");
        var axis1 = _b.Int64s("pool_axis1", [1]);
        var sum = _b.Node("ReduceSum", [_b.Node("Mul", [hidden, m], "pool_masked"), axis1], "pool_sum", attributes: Int("keepdims", 0));
        var count = _b.Node("ReduceSum", [m, axis1], "pool_count", attributes: Int("keepdims", 0));
        count = _b.Node("Max", [count, _b.Scalar("pool_min_count", 1e-9f)], "pool_count_clamped");
        return _b.Node("Div", [sum, count], "pool_mean");
    }

    private string AttentionMask(string mask)
    {
        var m = _b.Node("Unsqueeze", [mask, _b.Int64s("axis1", [1])], "mask_b1s");
        m = _b.Node("Unsqueeze", [m, _b.Int64s("axis2", [2])], "mask_b11s");
        m = _b.Node("Cast", [m], "mask_float", attributes: Int("to", (long)DataType.Float));
        m = _b.Node("Sub", [_b.Scalar("one_f", 1f), m], "mask_inverted");
        // -10000 rather than float.MinValue: exp underflows to 0 either way, and ORT's attention fusion recognises this form.
        return _b.Node("Mul", [m, _b.Scalar("mask_value", -10000f)], "additive_mask");
    }

    private string Layer(string x, string additiveMask, string p)
    {
        var heads = _c.NumAttentionHeads;
        var d = _c.HeadDim;
        var split = _b.Int64s("split_heads_shape", [0, 0, heads, d]);
        string Heads(string proj, long[] perm) =>
            _b.Node("Transpose", [_b.Node("Reshape", [Linear(x, p + "attention.self." + proj), split], proj + "_heads")], proj + "_t", attributes: Ints("perm", perm));
        var q = Heads("query", [0, 2, 1, 3]);
        var k = Heads("key", [0, 2, 3, 1]);
        var v = Heads("value", [0, 2, 1, 3]);
        var scores = _b.Node("MatMul", [q, k], "scores");
        scores = _b.Node("Div", [scores, _b.Scalar("sqrt_head_dim", (float)Math.Sqrt(d))], "scaled_scores");
        scores = _b.Node("Add", [scores, additiveMask], "masked_scores");
        var probs = _b.Node("Softmax", [scores], "attention_probs", attributes: Int("axis", -1));
        var context = _b.Node("MatMul", [probs, v], "context");
        context = _b.Node("Transpose", [context], "context_t", attributes: Ints("perm", 0, 2, 1, 3));
        context = _b.Node("Reshape", [context, _b.Int64s("merge_heads_shape", [0, 0, _c.HiddenSize])], "context_merged");
        var attention = LayerNorm(_b.Node("Add", [Linear(context, p + "attention.output.dense"), x], "attention_residual"), p + "attention.output.LayerNorm");
        var inner = Activation(Linear(attention, p + "intermediate.dense"));
        return LayerNorm(_b.Node("Add", [Linear(inner, p + "output.dense"), attention], "output_residual"), p + "output.LayerNorm");
    }

    private const string Microsoft = "com.microsoft";

    /// <summary>
    /// One encoder layer in ONNX Runtime's fused operators: Attention (q, k, v in one [hidden, 3·hidden] weight, the raw 2-D
    /// mask), SkipLayerNormalization for both residual blocks (output bias folded in), BiasGelu / FastGelu for the FFN.
    /// </summary>
    private string FusedLayer(string x, string mask32, string p)
    {
        var h = _c.HiddenSize;
        var qkvWeight = new float[h * 3 * h];
        var qkvBias = new float[3 * h];
        var parts = new[] { "query", "key", "value" };
        for (var part = 0; part < 3; part++)
        {
            var w = _w[p + "attention.self." + parts[part] + ".weight"]; // [out, in]
            for (var o = 0; o < h; o++)
            {
                for (var i = 0; i < h; i++)
                {
                    qkvWeight[(i * 3 * h) + (part * h) + o] = w[(o * h) + i];
                }
            }
            Array.Copy(_w[p + "attention.self." + parts[part] + ".bias"], 0, qkvBias, part * h, h);
        }
        var attention = _b.NodeN("Attention",
            [x, _b.Initializer(p + "attention.qkv_weight", qkvWeight, h, 3 * h), _b.Initializer(p + "attention.qkv_bias", qkvBias, 3 * h), mask32],
            ["attention"], Microsoft, Int("num_heads", _c.NumAttentionHeads))[0];
        var projected = MatMul(attention, p + "attention.output.dense");
        var x1 = SkipLayerNorm(projected, x, p + "attention.output.dense.bias", p + "attention.output.LayerNorm");
        var inner = MatMul(x1, p + "intermediate.dense");
        var bias = Weight(p + "intermediate.dense.bias");
        var activated = _c.HiddenAct switch
        {
            "gelu" or "gelu_python" => _b.NodeN("BiasGelu", [inner, bias], ["bias_gelu"], Microsoft)[0],
            "gelu_new" or "gelu_pytorch_tanh" => _b.NodeN("FastGelu", [inner, bias], ["fast_gelu"], Microsoft)[0],
            _ => Activation(_b.Node("Add", [inner, bias], "intermediate.out")),
        };
        return SkipLayerNorm(MatMul(activated, p + "output.dense"), x1, p + "output.dense.bias", p + "output.LayerNorm");
    }

    private string SkipLayerNorm(string input, string skip, string biasKey, string prefix) =>
        _b.NodeN("SkipLayerNormalization", [input, skip, Weight(prefix + ".weight"), Weight(prefix + ".bias"), Weight(biasKey)],
            [prefix + ".out"], Microsoft, Float("epsilon", (float)_c.LayerNormEps))[0];

    private string MlmLogits(string last)
    {
        var h = Activation(Linear(last, "cls.predictions.transform.dense"));
        h = LayerNorm(h, "cls.predictions.transform.LayerNorm");
        // The decoder weight is the word-embedding matrix (tied); ORT folds the transpose once at load time.
        var decoder = _b.Node("Transpose", [Weight("embeddings.word_embeddings.weight")], "decoder_weight_t", attributes: Ints("perm", 1, 0));
        return _b.Node("Add", [_b.Node("MatMul", [h, decoder], "mlm_scores"), Weight("cls.predictions.bias")], "mlm_logits");
    }

    /// <summary>x @ W^T + b: the weight stored pre-transposed [in, out] under an anonymous name, the bias under its key.</summary>
    private string Linear(string x, string prefix) =>
        _b.Node("Add", [MatMul(x, prefix), Weight(prefix + ".bias")], prefix + ".out");

    /// <summary>x @ W^T with the weight stored pre-transposed [in, out] under an anonymous name.</summary>
    private string MatMul(string x, string prefix)
    {
        var w = _w[prefix + ".weight"];
        var s = _shape[prefix + ".weight"];
        var (rows, cols) = ((int)s[0], (int)s[1]);
        var t = new float[w.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = w[(r * cols) + c];
            }
        }
        var wt = _b.Initializer("onnx::MatMul_" + prefix, t, cols, rows);
        return _b.Node("MatMul", [x, wt], prefix + ".matmul");
    }

    private string LayerNorm(string x, string prefix) =>
        _b.Node("LayerNormalization", [x, Weight(prefix + ".weight"), Weight(prefix + ".bias")], prefix + ".out",
            attributes: [Int("axis", -1), Float("epsilon", (float)_c.LayerNormEps)]);

    private readonly Dictionary<string, string> _initialized = new(StringComparer.Ordinal);

    /// <summary>A weight under its checkpoint key (each written once).</summary>
    private string Weight(string key)
    {
        if (!_initialized.TryGetValue(key, out var name))
        {
            name = _b.Initializer(key, _w[key], _shape[key]);
            _initialized[key] = name;
        }
        return name;
    }

    private string Activation(string x)
    {
        switch (_c.HiddenAct)
        {
            case "gelu" or "gelu_python":
            {
                // x * 0.5 * (1 + erf(x / sqrt 2)) in the node order PyTorch exports (ORT's GELU fusion matches it).
                var erf = _b.Node("Erf", [_b.Node("Div", [x, _b.Scalar("sqrt2", MathF.Sqrt(2f))], "gelu_div")], "gelu_erf");
                var one = _b.Node("Add", [erf, _b.Scalar("one_f", 1f)], "gelu_add");
                return _b.Node("Mul", [_b.Node("Mul", [x, one], "gelu_mul"), _b.Scalar("half", 0.5f)], "gelu");
            }
            case "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast":
            {
                // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))).
                var cube = _b.Node("Pow", [x, _b.Scalar("three", 3f)], "gelu_cube");
                var inner = _b.Node("Add", [x, _b.Node("Mul", [cube, _b.Scalar("gelu_coeff", 0.044715f)], "gelu_cube_scaled")], "gelu_inner");
                var tanh = _b.Node("Tanh", [_b.Node("Mul", [inner, _b.Scalar("sqrt_2_over_pi", (float)Math.Sqrt(2.0 / Math.PI))], "gelu_scaled")], "gelu_tanh");
                var one = _b.Node("Add", [tanh, _b.Scalar("one_f", 1f)], "gelu_one");
                return _b.Node("Mul", [_b.Node("Mul", [x, _b.Scalar("half", 0.5f)], "gelu_half_x"), one], "gelu_new");
            }
            case "relu":
                return _b.Node("Relu", [x], "relu");
            case "silu" or "swish":
                return _b.Node("Mul", [x, _b.Node("Sigmoid", [x], "silu_sigmoid")], "silu");
            case "quick_gelu":
                return _b.Node("Mul", [x, _b.Node("Sigmoid", [_b.Node("Mul", [x, _b.Scalar("quick_gelu_coeff", 1.702f)], "quick_gelu_scaled")], "quick_gelu_sigmoid")], "quick_gelu");
            case "tanh":
                return _b.Node("Tanh", [x], "tanh");
            default:
                throw new BertSharpException($"ONNX export: hidden_act '{_c.HiddenAct}' has no ONNX form here.");
        }
    }
}
