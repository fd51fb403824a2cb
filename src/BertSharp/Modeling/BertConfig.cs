using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Modeling;

/// <summary>
/// The HuggingFace <c>BertConfig</c>: every field of a BERT <c>config.json</c>. Fields this class does not know are kept
/// and written back unchanged, so a config read and saved again loses nothing.
/// </summary>
public sealed class BertConfig
{
    // Sanity limits on the sizes a config.json may ask for (far above any BERT: 119,547 words, 1,024 hidden, 24 layers), so
    // that a hostile config fails on parsing instead of allocating; the checkpoint's own shapes are checked before loading.
    public const int MaxVocabSize = 1 << 24;
    public const int MaxHiddenSize = 1 << 16;
    public const int MaxLayers = 1024;
    public const int MaxIntermediateSize = 1 << 18;
    public const int MaxPositions = 1 << 20;
    public const int MaxTypeVocabSize = 1 << 16;
    public const int MaxLabels = 1 << 16;
    public const long MaxConfigBytes = 16L << 20;

    /// <summary>Activation names accepted in <see cref="HiddenAct"/> (the HF <c>ACT2FN</c> entries BertSharp implements).</summary>
    public static readonly IReadOnlyList<string> SupportedActivations =
        ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "silu", "swish", "tanh"];

    public int VocabSize { get; set; } = 30522;
    public int HiddenSize { get; set; } = 768;
    public int NumHiddenLayers { get; set; } = 12;
    public int NumAttentionHeads { get; set; } = 12;
    public int IntermediateSize { get; set; } = 3072;

    /// <summary>FFN and MLM-transform activation: gelu (erf), gelu_new (tanh approximation), relu, silu, …</summary>
    public string HiddenAct { get; set; } = "gelu";

    public double HiddenDropoutProb { get; set; } = 0.1;
    public double AttentionProbsDropoutProb { get; set; } = 0.1;
    public int MaxPositionEmbeddings { get; set; } = 512;
    public int TypeVocabSize { get; set; } = 2;
    public double InitializerRange { get; set; } = 0.02;
    public double LayerNormEps { get; set; } = 1e-12;
    public int PadTokenId { get; set; }

    /// <summary>Only <c>absolute</c> is implemented; anything else is rejected when the config is read.</summary>
    public string PositionEmbeddingType { get; set; } = "absolute";

    public bool UseCache { get; set; } = true;

    /// <summary>Dropout before classification heads; null means <see cref="HiddenDropoutProb"/> (as HF).</summary>
    public double? ClassifierDropout { get; set; }

    /// <summary>
    /// What the pooler (and so the sequence classifier and NSP head) reads: null or <c>cls</c> — the [CLS] token, as HF's
    /// BERT; <c>mean</c> — the mean of the last hidden state over the attention mask, as sentence-transformers models such as
    /// all-MiniLM-L6-v2 were trained (the <c>classifier_pooling</c> key of HF's ModernBERT). HF's BERT ignores the key, so a
    /// <c>mean</c> checkpoint is read as intended by BertSharp only.
    /// </summary>
    public string? ClassifierPooling { get; set; }

    /// <summary>Whether <see cref="ClassifierPooling"/> is <c>mean</c>.</summary>
    public bool MeanPooling => ClassifierPooling == "mean";

    /// <summary><c>regression</c>, <c>single_label_classification</c>, <c>multi_label_classification</c> or null (inferred per batch).</summary>
    public string? ProblemType { get; set; }

    /// <summary>Label names by class index; its size is the number of labels. HF's default is two labels LABEL_0/LABEL_1.</summary>
    public SortedDictionary<int, string> Id2Label { get; set; } = DefaultLabels(2);

    /// <summary>Number of outputs of the classification heads (= <see cref="Id2Label"/> count).</summary>
    public int NumLabels
    {
        get => Id2Label.Count;
        set
        {
            if (value < 1)
            {
                throw new BertSharpException($"num_labels: expected a positive number, got {value}.");
            }
            if (value != Id2Label.Count)
            {
                Id2Label = DefaultLabels(value);
            }
        }
    }

    /// <summary>Inverse of <see cref="Id2Label"/>.</summary>
    public IReadOnlyDictionary<string, int> Label2Id =>
        Id2Label.GroupBy(kv => kv.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Key, StringComparer.Ordinal);

    /// <summary>Model classes this checkpoint was saved from, e.g. <c>BertForSequenceClassification</c>.</summary>
    public IList<string>? Architectures { get; set; }

    /// <summary>Weight dtype the checkpoint was saved in (<c>float32</c>, <c>float16</c>, <c>bfloat16</c>).</summary>
    public string? TorchDtype { get; set; }

    /// <summary>
    /// Attention kernel: <c>sdpa</c> (fused scaled_dot_product_attention, default) or <c>eager</c> (explicit softmax; always used
    /// when attention probabilities are requested). Not saved — a run-time choice, as in HF.
    /// </summary>
    public string AttnImplementation { get; set; } = "sdpa";

    /// <summary>Fields of config.json this class does not model; written back unchanged.</summary>
    public IDictionary<string, JsonNode?> Extra { get; } = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>A configuration with the shape of a standard BERT size: tiny, mini, small, medium, base or large.</summary>
    public static BertConfig Preset(string name)
    {
        var (layers, hidden, heads) = name.Trim().ToLowerInvariant() switch
        {
            "tiny" => (2, 128, 2),
            "mini" => (4, 256, 4),
            "small" => (4, 512, 8),
            "medium" => (8, 512, 8),
            "base" => (12, 768, 12),
            "large" => (24, 1024, 16),
            _ => throw new BertSharpException($"model size '{name}': expected tiny, mini, small, medium, base or large."),
        };
        return new BertConfig
        {
            NumHiddenLayers = layers,
            HiddenSize = hidden,
            NumAttentionHeads = heads,
            IntermediateSize = 4 * hidden,
        };
    }

    /// <summary>
    /// A size preset by name (<see cref="PresetNames"/>), or the config.json file at <paramref name="presetOrFile"/> (a path
    /// ending in .json, or any existing file): what <c>--config</c> accepts.
    /// </summary>
    public static BertConfig FromPresetOrFile(string presetOrFile)
    {
        ArgumentNullException.ThrowIfNull(presetOrFile);
        if (presetOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(presetOrFile))
        {
            return Load(presetOrFile);
        }
        if (!PresetNames.Contains(presetOrFile.Trim().ToLowerInvariant()))
        {
            throw new BertSharpException($"{BertSharpException.Field("config")} {presetOrFile}: expected a size preset ({string.Join(", ", PresetNames)}) or a config.json file.");
        }
        return Preset(presetOrFile);
    }

    /// <summary>Names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "mini", "small", "medium", "base", "large"];

    /// <summary>A deep copy (extra fields included).</summary>
    public BertConfig Clone() => Parse(ToJson(), "(clone)");

    /// <summary>Reads <c>config.json</c>; a wrong field fails with a message naming the file and the field.</summary>
    public static BertConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: config file not found.");
        }
        var length = new FileInfo(path).Length;
        if (length > MaxConfigBytes)
        {
            throw new BertSharpException($"{path}: {length} bytes, more than the {MaxConfigBytes}-byte limit for a config.json.");
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Writes <c>config.json</c> as HF <c>save_pretrained</c> does: sorted keys, two-space indent.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");

    /// <summary>Parses the text of a config.json; <paramref name="source"/> names it in error messages.</summary>
    public static BertConfig Parse(string json, string source)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json) as JsonObject ?? throw new BertSharpException($"{source}: expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw new BertSharpException($"{source}: not valid JSON ({e.Message}).", e);
        }
        var r = new FieldReader(obj, source);
        var c = new BertConfig
        {
            VocabSize = r.Int("vocab_size", 30522, min: 1, max: MaxVocabSize),
            HiddenSize = r.Int("hidden_size", 768, min: 1, max: MaxHiddenSize),
            NumHiddenLayers = r.Int("num_hidden_layers", 12, min: 0, max: MaxLayers),
            NumAttentionHeads = r.Int("num_attention_heads", 12, min: 1, max: MaxHiddenSize),
            IntermediateSize = r.Int("intermediate_size", 3072, min: 1, max: MaxIntermediateSize),
            HiddenAct = r.String("hidden_act") ?? "gelu",
            HiddenDropoutProb = r.Double("hidden_dropout_prob", 0.1),
            AttentionProbsDropoutProb = r.Double("attention_probs_dropout_prob", 0.1),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 512, min: 1, max: MaxPositions),
            TypeVocabSize = r.Int("type_vocab_size", 2, min: 1, max: MaxTypeVocabSize),
            InitializerRange = r.Double("initializer_range", 0.02),
            LayerNormEps = r.Double("layer_norm_eps", 1e-12),
            PadTokenId = r.Int("pad_token_id", 0, min: 0),
            PositionEmbeddingType = r.String("position_embedding_type") ?? "absolute",
            UseCache = r.Bool("use_cache", true),
            ClassifierDropout = r.NullableDouble("classifier_dropout"),
            ClassifierPooling = r.String("classifier_pooling"),
            ProblemType = r.String("problem_type"),
            Architectures = r.StringList("architectures"),
            TorchDtype = r.String("torch_dtype"),
        };
        var id2label = r.Id2Label("id2label");
        var numLabels = obj.ContainsKey("num_labels") ? r.Int("num_labels", 2, min: 1, max: MaxLabels) : (int?)null;
        if (id2label is not null)
        {
            c.Id2Label = id2label;
            if (numLabels is { } n && n != id2label.Count)
            {
                throw new BertSharpException($"{source}: num_labels is {n} but id2label has {id2label.Count} entries.");
            }
        }
        else if (numLabels is { } n)
        {
            c.NumLabels = n;
        }
        r.Consume("label2id");
        foreach (var (key, value) in obj)
        {
            if (!r.Known.Contains(key))
            {
                c.Extra[key] = value?.DeepClone();
            }
        }
        c.Validate(source);
        return c;
    }

    /// <summary>Checks consistency; throws <see cref="BertSharpException"/> naming <paramref name="source"/> and the field.</summary>
    public void Validate(string source = "config")
    {
        if (PositionEmbeddingType != "absolute")
        {
            throw new BertSharpException(
                $"{source}: position_embedding_type '{PositionEmbeddingType}' is not supported; BertSharp implements only 'absolute'.");
        }
        if (!SupportedActivations.Contains(HiddenAct))
        {
            throw new BertSharpException(
                $"{source}: hidden_act '{HiddenAct}' is not supported; expected one of {string.Join(", ", SupportedActivations)}.");
        }
        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new BertSharpException(
                $"{source}: hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}.");
        }
        if (ProblemType is not null and not ("regression" or "single_label_classification" or "multi_label_classification"))
        {
            throw new BertSharpException(
                $"{source}: problem_type '{ProblemType}': expected regression, single_label_classification or multi_label_classification.");
        }
        foreach (var flag in new[] { "is_decoder", "add_cross_attention" })
        {
            if (Extra.TryGetValue(flag, out var v) && v is JsonValue jv && jv.TryGetValue<bool>(out var on) && on)
            {
                throw new BertSharpException($"{source}: {flag} is true; BertSharp implements the BERT encoder only (no decoder / cross-attention).");
            }
        }
        if (ClassifierPooling is not (null or "cls" or "mean"))
        {
            throw new BertSharpException($"{source}: classifier_pooling '{ClassifierPooling}': expected cls or mean.");
        }
        if (AttnImplementation is not ("sdpa" or "eager"))
        {
            throw new BertSharpException($"{source}: attn_implementation '{AttnImplementation}': expected sdpa or eager.");
        }
        foreach (var (name, p) in new[] { ("hidden_dropout_prob", HiddenDropoutProb), ("attention_probs_dropout_prob", AttentionProbsDropoutProb), ("classifier_dropout", ClassifierDropout ?? 0) })
        {
            if (p is < 0 or >= 1 || double.IsNaN(p))
            {
                throw new BertSharpException($"{source}: {name} {p.ToString(CultureInfo.InvariantCulture)}: expected a probability in [0, 1).");
            }
        }
    }

    /// <summary>The config as HF writes it (keys sorted, two-space indent).</summary>
    public string ToJson()
    {
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (k, v) in Extra)
        {
            o[k] = v?.DeepClone();
        }
        if (Architectures is not null)
        {
            o["architectures"] = new JsonArray([.. Architectures.Select(a => (JsonNode?)JsonValue.Create(a))]);
        }
        o["attention_probs_dropout_prob"] = AttentionProbsDropoutProb;
        o["classifier_dropout"] = ClassifierDropout is { } cd ? JsonValue.Create(cd) : null;
        if (ClassifierPooling is not null)
        {
            o["classifier_pooling"] = ClassifierPooling;
        }
        o["hidden_act"] = HiddenAct;
        o["hidden_dropout_prob"] = HiddenDropoutProb;
        o["hidden_size"] = HiddenSize;
        // HF leaves the labels out while they are its default (two labels named LABEL_0, LABEL_1).
        if (!Id2Label.SequenceEqual(DefaultLabels(2)))
        {
            var id2 = new JsonObject();
            foreach (var (i, name) in Id2Label)
            {
                id2[i.ToString(CultureInfo.InvariantCulture)] = name;
            }
            o["id2label"] = id2;
            var l2 = new JsonObject();
            foreach (var (name, i) in Label2Id.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                l2[name] = i;
            }
            o["label2id"] = l2;
        }
        o["initializer_range"] = InitializerRange;
        o["intermediate_size"] = IntermediateSize;
        o["layer_norm_eps"] = LayerNormEps;
        o["max_position_embeddings"] = MaxPositionEmbeddings;
        o["model_type"] = "bert";
        o["num_attention_heads"] = NumAttentionHeads;
        o["num_hidden_layers"] = NumHiddenLayers;
        o["pad_token_id"] = PadTokenId;
        o["position_embedding_type"] = PositionEmbeddingType;
        if (ProblemType is not null)
        {
            o["problem_type"] = ProblemType;
        }
        if (TorchDtype is not null)
        {
            o["torch_dtype"] = TorchDtype;
        }
        o["type_vocab_size"] = TypeVocabSize;
        o["use_cache"] = UseCache;
        o["vocab_size"] = VocabSize;
        var root = new JsonObject();
        foreach (var (k, v) in o)
        {
            root[k] = v;
        }
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, IndentSize = 2 });
    }

    private static SortedDictionary<int, string> DefaultLabels(int n)
    {
        var d = new SortedDictionary<int, string>();
        for (var i = 0; i < n; i++)
        {
            d[i] = "LABEL_" + i.ToString(CultureInfo.InvariantCulture);
        }
        return d;
    }

    /// <summary>Typed access to config.json fields with one-line errors naming the field.</summary>
    private sealed class FieldReader(JsonObject obj, string source)
    {
        public HashSet<string> Known { get; } = ["model_type"];

        public void Consume(string key) => Known.Add(key);

        private JsonNode? Get(string key)
        {
            Known.Add(key);
            return obj.TryGetPropertyValue(key, out var v) ? v : null;
        }

        private BertSharpException Bad(string key, string expected, JsonNode? v)
        {
            var got = v?.ToJsonString() ?? "null";
            return new($"{source}: field '{key}': expected {expected}, got {(got.Length > 80 ? got[..80] + "…" : got)}.");
        }

        public int Int(string key, int dflt, int min, int max = int.MaxValue)
        {
            var v = Get(key);
            if (v is null)
            {
                return dflt;
            }
            if (v is JsonValue jv && jv.TryGetValue<double>(out var d) && d == Math.Floor(d) && d >= min && d <= max)
            {
                return (int)d;
            }
            throw Bad(key, max == int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max} (the limit)", v);
        }

        public double Double(string key, double dflt) => NullableDouble(key) ?? dflt;

        public double? NullableDouble(string key)
        {
            var v = Get(key);
            if (v is null)
            {
                return null;
            }
            if (v is JsonValue jv && jv.TryGetValue<double>(out var d) && double.IsFinite(d))
            {
                return d;
            }
            throw Bad(key, "a number", v);
        }

        public bool Bool(string key, bool dflt)
        {
            var v = Get(key);
            if (v is null)
            {
                return dflt;
            }
            if (v is JsonValue jv && jv.TryGetValue<bool>(out var b))
            {
                return b;
            }
            throw Bad(key, "true or false", v);
        }

        public string? String(string key)
        {
            var v = Get(key);
            if (v is null)
            {
                return null;
            }
            if (v is JsonValue jv && jv.TryGetValue<string>(out var s))
            {
                return s;
            }
            throw Bad(key, "a string", v);
        }

        public List<string>? StringList(string key)
        {
            var v = Get(key);
            if (v is null)
            {
                return null;
            }
            if (v is JsonArray a && a.All(x => x is JsonValue xv && xv.TryGetValue<string>(out _)))
            {
                return [.. a.Select(x => x!.GetValue<string>())];
            }
            throw Bad(key, "a list of strings", v);
        }

        public SortedDictionary<int, string>? Id2Label(string key)
        {
            var v = Get(key);
            if (v is null)
            {
                return null;
            }
            if (v is not JsonObject o || o.Count == 0)
            {
                throw Bad(key, "an object mapping class index to label name", v);
            }
            if (o.Count > MaxLabels)
            {
                throw new BertSharpException($"{source}: field '{key}' has {o.Count} labels; the limit is {MaxLabels}.");
            }
            var d = new SortedDictionary<int, string>();
            foreach (var (k, name) in o)
            {
                if (!int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ||
                    name is not JsonValue nv || !nv.TryGetValue<string>(out var s))
                {
                    throw Bad(key, "an object mapping class index to label name", v);
                }
                d[i] = s;
            }
            if (d.Keys.Max() != d.Count - 1)
            {
                throw Bad(key, $"class indices 0..{d.Count - 1}", v);
            }
            return d;
        }
    }
}
