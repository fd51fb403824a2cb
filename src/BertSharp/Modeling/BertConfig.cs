using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using BertSharp.IO;

namespace BertSharp.Modeling;

/// <summary>
/// The HuggingFace <c>BertConfig</c>: every field of a BERT <c>config.json</c>. Fields this class does not know are kept
/// and written back unchanged, so a config read and saved again loses nothing.
/// </summary>
public sealed partial class BertConfig
{
    // Sanity limits on the sizes a config.json may ask for (far above any BERT: 119,547 words, 1,024 hidden, 24 layers), so
    // that a hostile config fails on parsing instead of allocating; the checkpoint's own shapes are checked before loading.
    /// <summary>The largest <c>vocab_size</c> a config.json may hold: 2^24 (16,777,216) tokens.</summary>
    public const int MaxVocabSize = 1 << 24;
    /// <summary>The largest <c>hidden_size</c>, and <c>num_attention_heads</c>, a config.json may hold: 2^16 (65,536).</summary>
    public const int MaxHiddenSize = 1 << 16;
    /// <summary>The largest <c>num_hidden_layers</c> a config.json may hold: 1,024 (0 is allowed: embeddings only).</summary>
    public const int MaxLayers = 1024;
    /// <summary>The largest <c>intermediate_size</c> (the feed-forward width) a config.json may hold: 2^18 (262,144).</summary>
    public const int MaxIntermediateSize = 1 << 18;
    /// <summary>The largest <c>max_position_embeddings</c> a config.json may hold: 2^20 (1,048,576) positions.</summary>
    public const int MaxPositions = 1 << 20;
    /// <summary>The largest <c>type_vocab_size</c> (number of segment ids) a config.json may hold: 2^16 (65,536).</summary>
    public const int MaxTypeVocabSize = 1 << 16;
    /// <summary>The most labels (<c>num_labels</c>, <c>id2label</c> entries) a config.json may hold: 2^16 (65,536).</summary>
    public const int MaxLabels = 1 << 16;
    /// <summary>The largest config.json <see cref="Load"/> reads, in bytes: 16 MiB.</summary>
    public const long MaxConfigBytes = 16L << 20;

    /// <summary>Activation names accepted in <see cref="HiddenAct"/> (the HF <c>ACT2FN</c> entries BertSharp implements).</summary>
    public static readonly IReadOnlyList<string> SupportedActivations =
        ["gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "silu", "swish", "tanh"];

    /// <summary>
    /// <c>vocab_size</c>: rows of the word-embedding matrix and width of the MLM decoder's output (default 30,522,
    /// bert-base-uncased); at least the tokenizer's vocabulary size.
    /// </summary>
    public int VocabSize { get; set; } = 30522;

    /// <summary>
    /// <c>hidden_size</c>: width of every hidden state, [batch, seq, hidden] (default 768); a multiple of
    /// <see cref="NumAttentionHeads"/>.
    /// </summary>
    public int HiddenSize { get; set; } = 768;

    /// <summary>
    /// <c>num_hidden_layers</c>: number of transformer layers in the encoder (default 12; 0 leaves the embeddings
    /// alone).
    /// </summary>
    public int NumHiddenLayers { get; set; } = 12;

    /// <summary>
    /// <c>num_attention_heads</c>: heads per self-attention layer (default 12); each attends over
    /// <see cref="HiddenSize"/> / heads dimensions.
    /// </summary>
    public int NumAttentionHeads { get; set; } = 12;

    /// <summary>
    /// <c>intermediate_size</c>: width of the feed-forward block inside each layer (default 3,072, 4 × hidden).
    /// </summary>
    public int IntermediateSize { get; set; } = 3072;

    /// <summary>FFN and MLM-transform activation: gelu (erf), gelu_new (tanh approximation), relu, silu, …</summary>
    public string HiddenAct { get; set; } = "gelu";

    /// <summary>
    /// <c>hidden_dropout_prob</c>: dropout probability, in [0, 1), on the embeddings and on each residual branch during
    /// training (default 0.1); no effect in evaluation mode.
    /// </summary>
    public double HiddenDropoutProb { get; set; } = 0.1;

    /// <summary>
    /// <c>attention_probs_dropout_prob</c>: dropout probability, in [0, 1), on the attention probabilities during
    /// training (default 0.1).
    /// </summary>
    public double AttentionProbsDropoutProb { get; set; } = 0.1;

    /// <summary>
    /// <c>max_position_embeddings</c>: rows of the position-embedding table, so the longest sequence the model accepts,
    /// in tokens including [CLS] and [SEP] (default 512).
    /// </summary>
    public int MaxPositionEmbeddings { get; set; } = 512;

    /// <summary><c>type_vocab_size</c>: number of segment (token type) ids, 0..size - 1 (default 2: text and pair).</summary>
    public int TypeVocabSize { get; set; } = 2;

    /// <summary>
    /// <c>initializer_range</c>: standard deviation of the normal distribution that new weights are drawn from (default
    /// 0.02); weights loaded from a checkpoint replace them.
    /// </summary>
    public double InitializerRange { get; set; } = 0.02;

    /// <summary>
    /// <c>layer_norm_eps</c>: the epsilon added to the variance in every LayerNorm (default 1e-12); must be positive.
    /// </summary>
    public double LayerNormEps { get; set; } = 1e-12;

    /// <summary>
    /// <c>pad_token_id</c>: the word-embedding row of [PAD], 0..<see cref="VocabSize"/> - 1 (default 0); it is
    /// initialized to zeros and gets no gradient.
    /// </summary>
    public int PadTokenId { get; set; }

    /// <summary>Only <c>absolute</c> is implemented; anything else is rejected when the config is read.</summary>
    public string PositionEmbeddingType { get; set; } = "absolute";

    /// <summary>
    /// <c>use_cache</c>: kept for round trips with HF (default true); BertSharp implements the encoder only, which has
    /// no key/value cache, so the value changes nothing.
    /// </summary>
    public bool UseCache { get; set; } = true;

    /// <summary>Dropout before classification heads; null means <see cref="HiddenDropoutProb"/> (as HF).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)] // HF writes "classifier_dropout": null
    public double? ClassifierDropout { get; set; }

    /// <summary>
    /// What the pooler (and so the sequence classifier and NSP head) reads: null or <c>cls</c> — the [CLS] token, as HF's
    /// BERT; <c>mean</c> — the mean of the last hidden state over the attention mask, as sentence-transformers models such as
    /// all-MiniLM-L6-v2 were trained (the <c>classifier_pooling</c> key of HF's ModernBERT). HF's BERT ignores the key, so a
    /// <c>mean</c> checkpoint is read as intended by BertSharp only.
    /// </summary>
    public string? ClassifierPooling { get; set; }

    /// <summary>Whether <see cref="ClassifierPooling"/> is <c>mean</c>.</summary>
    [JsonIgnore]
    public bool MeanPooling => ClassifierPooling == "mean";

    /// <summary><c>regression</c>, <c>single_label_classification</c>, <c>multi_label_classification</c> or null (inferred per batch).</summary>
    public string? ProblemType { get; set; }

    /// <summary>
    /// Whether a sequence classifier of this config regresses (one float output, MSE loss): see <see cref="IsRegressionProblem"/>.
    /// </summary>
    [JsonIgnore]
    public bool IsRegression => IsRegressionProblem(ProblemType, NumLabels);

    /// <summary>
    /// HF's rule for a regression model: <paramref name="problemType"/> <c>regression</c>, or none and one label. A one-label
    /// <c>multi_label_classification</c> model answers yes or no (sigmoid, BCE) and a one-label
    /// <c>single_label_classification</c> one is a softmax over one class; neither regresses.
    /// </summary>
    /// <param name="problemType">config.json's <c>problem_type</c>, or null when it has none.</param>
    /// <param name="numLabels">The number of labels (model outputs).</param>
    public static bool IsRegressionProblem(string? problemType, int numLabels) =>
        problemType == "regression" || (problemType is null && numLabels == 1);

    /// <summary>Label names by class index; its size is the number of labels. HF's default is two labels LABEL_0/LABEL_1.</summary>
    [JsonPropertyName("id2label")]
    public SortedDictionary<int, string> Id2Label { get; set; } = DefaultLabels(2);

    /// <summary>Number of outputs of the classification heads (= <see cref="Id2Label"/> count).</summary>
    [JsonIgnore]
    public int NumLabels
    {
        get => Id2Label.Count;
        set
        {
            if (value < 1)
            {
                throw new BertSharpException(Invariant($"num_labels: expected a positive number, got {value}."));
            }
            if (value != Id2Label.Count)
            {
                Id2Label = DefaultLabels(value);
            }
        }
    }

    /// <summary>Inverse of <see cref="Id2Label"/>.</summary>
    [JsonIgnore]
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
    [JsonIgnore]
    public string AttnImplementation { get; set; } = "sdpa";

    /// <summary>Fields of config.json this class does not model; written back unchanged.</summary>
    [JsonIgnore]
    public IDictionary<string, JsonNode?> Extra { get; } = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);

    // config.json keys that are read but not properties of their own: num_labels (checked against id2label), label2id (derived
    // from id2label when written) and model_type (always "bert"). Set only while a file is parsed.
    [JsonInclude, JsonPropertyName("num_labels")]
    private int? NumLabelsInFile { get; set; }

    [JsonInclude, JsonPropertyName("label2id")]
    private JsonNode? Label2IdInFile { get; set; }

    [JsonInclude, JsonPropertyName("model_type")]
    private JsonNode? ModelTypeInFile { get; set; }

    [JsonInclude, JsonExtensionData]
    private JsonObject? ExtraInFile { get; set; }

    /// <summary>Size of one attention head.</summary>
    [JsonIgnore]
    public int HeadDim => HiddenSize / NumAttentionHeads;


    /// <summary>A configuration with the shape of a standard BERT size: tiny, mini, small, medium, base or large.</summary>
    public static BertConfig Preset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
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
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: config file not found.");
        }
        var length = IO.LinkedFile.Length(path);
        if (length > MaxConfigBytes)
        {
            throw new BertSharpException(Invariant($"{path}: {length} bytes, more than the {MaxConfigBytes}-byte limit for a config.json."));
        }
        // Strict UTF-8 (the line of a bad byte named): File.ReadAllText would turn it into U+FFFD inside a string value.
        return Parse(IO.TextLines.ReadAllText(path, "a config.json", MaxConfigBytes), path);
    }

    /// <summary>Writes <c>config.json</c> as HF <c>save_pretrained</c> does: sorted keys, two-space indent.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, ToJson() + "\n");
    }

    /// <summary>Parses the text of a config.json; <paramref name="source"/> names it in error messages.</summary>
    public static BertConfig Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        StrictJson.RefuseLoneSurrogates(source, json);
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json, documentOptions: StrictJson.Options) as JsonObject ?? throw new BertSharpException($"{source}: expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw StrictJson.DuplicateKeyError(source, json, e) ?? new BertSharpException($"{LineRef.NotValidJson(source, e)}; expected the JSON object of a model config.", e);
        }
        // HF writes null for "not set": a known field that is null keeps its default (unknown ones are kept as they are).
        var fields = (JsonObject)obj.DeepClone();
        foreach (var key in fields.Where(kv => kv.Value is null && ConfigJson.Expected.ContainsKey(kv.Key)).Select(kv => kv.Key).ToList())
        {
            fields.Remove(key);
        }
        ConfigJson.LabelNamesAsText(fields, source);
        BertConfig c;
        try
        {
            c = fields.Deserialize(ConfigJson.TypeInfo)!;
        }
        catch (JsonException e)
        {
            throw ConfigJson.Field(e.Path) is { } key ? ConfigJson.Bad(source, key, obj[key], e) : new BertSharpException($"{source}: {e.Message}", e);
        }
        // Another architecture's config names its sizes otherwise (distilbert: dim, n_layers): read as BERT's it was BERT-base's
        // defaults, and convert wrote it back as model_type bert, or the error blamed the weights' shapes.
        if (c.ModelTypeInFile is { } modelType && !(modelType is JsonValue mv && mv.TryGetValue<string>(out var mt) && mt == "bert"))
        {
            throw new BertSharpException($"{source}: field 'model_type': expected \"bert\" (BertSharp reads BERT models only), got {ConfigJson.Shown(modelType)}.");
        }
        // A shard index has no config field: read as one it was BERT-base's defaults (bert inspect showed 109,482,240
        // parameters for model.safetensors.index.json, exit 0).
        if (obj.ContainsKey("weight_map"))
        {
            throw new BertSharpException($"{source}: a checkpoint's shard index (field 'weight_map'), not a config.json; give the config.json beside it or the model directory.");
        }
        foreach (var (key, (min, max)) in ConfigJson.IntRanges)
        {
            if (obj[key] is { } v && ConfigJson.IntValue(c, key) is int n && (n < min || n > max))
            {
                throw ConfigJson.Bad(source, key, v);
            }
        }
        if (obj["id2label"] is { } labels && (c.Id2Label.Count == 0 || c.Id2Label.Keys.Min() < 0))
        {
            throw ConfigJson.Bad(source, "id2label", labels);
        }
        if (c.Id2Label.Count > MaxLabels)
        {
            throw new BertSharpException(Invariant($"{source}: field 'id2label' has {c.Id2Label.Count} labels; the limit is {MaxLabels}."));
        }
        if (c.Id2Label.Keys.Max() != c.Id2Label.Count - 1)
        {
            throw new BertSharpException(Invariant($"{source}: field 'id2label': expected class indices 0..{c.Id2Label.Count - 1}, got {ConfigJson.Shown(obj["id2label"])}."));
        }
        if (c.NumLabelsInFile is { } numLabels)
        {
            if (obj.ContainsKey("id2label") && numLabels != c.Id2Label.Count)
            {
                throw new BertSharpException(Invariant($"{source}: num_labels is {numLabels} but id2label has {c.Id2Label.Count} entries."));
            }
            c.NumLabels = numLabels;
        }
        foreach (var (key, value) in c.ExtraInFile ?? [])
        {
            c.Extra[key] = value?.DeepClone();
        }
        // transformers 5 names the weights' dtype "dtype" and prefers it to torch_dtype. Kept as an extra field, it went on
        // saying the old dtype next to the torch_dtype of a save in another one (convert --dtype), and transformers 5 then
        // loaded the weights in the old one: it is torch_dtype here, written back once under that name, which all versions read.
        if (c.Extra.Remove("dtype", out var dtype) && dtype is not null)
        {
            c.TorchDtype = dtype is JsonValue v && v.TryGetValue<string>(out var name)
                ? name
                : throw new BertSharpException($"{source}: field 'dtype': expected a string, got {ConfigJson.Shown(dtype)}.");
        }
        (c.NumLabelsInFile, c.Label2IdInFile, c.ModelTypeInFile, c.ExtraInFile) = (null, null, null, null);
        c.Validate(source);
        return c;
    }

    /// <summary>
    /// Refuses an activation name that is not exactly one of <see cref="SupportedActivations"/>, naming
    /// <paramref name="source"/> and <paramref name="field"/> (the config's hidden_act, or the option a caller gave the name in):
    /// HF's ACT2FN takes names as written, so a config that holds another spelling loads nowhere else.
    /// </summary>
    internal static void CheckActivation(string name, string source, string field)
    {
        if (!SupportedActivations.Contains(name))
        {
            throw new BertSharpException(
                $"{source}: {field} '{name}' is not supported; expected one of {string.Join(", ", SupportedActivations)}.");
        }
    }

    /// <summary>Checks consistency; throws <see cref="BertSharpException"/> naming <paramref name="source"/> and the field.</summary>
    public void Validate(string source = "config")
    {
        if (PositionEmbeddingType != "absolute")
        {
            throw new BertSharpException(
                $"{source}: position_embedding_type '{PositionEmbeddingType}' is not supported; BertSharp implements only 'absolute'.");
        }
        CheckActivation(HiddenAct, source, "hidden_act");
        // Otherwise libtorch fails building the embeddings ("Padding_idx must be within num_embeddings"), a crash with a C++ stack.
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
        {
            throw new BertSharpException(
                Invariant($"{source}: field 'pad_token_id': expected 0..{VocabSize - 1} (vocab_size {VocabSize}), got {PadTokenId}."));
        }
        // LayerNorm divides by sqrt(variance + eps): eps <= 0 gives NaN for any constant input (a zero or padded hidden state)
        // and, during fine-tuning, NaN weights; the error would surface later blaming the weights.
        if (!(LayerNormEps > 0))
        {
            throw new BertSharpException(
                $"{source}: field 'layer_norm_eps': expected a positive number, got {LayerNormEps.ToString(CultureInfo.InvariantCulture)}.");
        }
        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new BertSharpException(
                Invariant($"{source}: hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}."));
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
        var fields = JsonSerializer.SerializeToNode(this, ConfigJson.TypeInfo)!.AsObject();
        fields["model_type"] = "bert";
        // HF leaves the labels out while they are its default (two labels named LABEL_0, LABEL_1).
        if (Id2Label.SequenceEqual(DefaultLabels(2)))
        {
            fields.Remove("id2label");
        }
        else
        {
            fields["label2id"] = JsonSerializer.SerializeToNode(new SortedDictionary<string, int>(Label2Id.ToDictionary(), StringComparer.Ordinal),
                ConfigJson.Options);
        }
        foreach (var (k, v) in Extra)
        {
            fields[k] = v?.DeepClone();
        }
        var sorted = new JsonObject();
        foreach (var (k, v) in fields.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList())
        {
            fields.Remove(k);
            sorted[k] = v;
        }
        return sorted.ToJsonString(ConfigJson.Written);
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
}
