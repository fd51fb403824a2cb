using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>
/// The pooling and normalisation a sentence-transformers model directory declares: <c>modules.json</c> lists the modules its
/// <c>encode</c> runs after the transformer (Pooling, often Normalize), and the Pooling module's <c>config.json</c> its mode.
/// Without them a model trained with mean pooling and unit vectors was pooled by [CLS] here, silently giving other embeddings.
/// </summary>
internal sealed class SentenceTransformerModules
{
    public const string FileName = SentenceTransformerModuleList.FileName;

    // sentence-transformers' Pooling saves one boolean per mode; a model may set several (their vectors are concatenated).
    private static readonly (string Field, Pooling? Mode)[] Modes =
    [
        ("pooling_mode_cls_token", Pooling.Cls),
        ("pooling_mode_mean_tokens", Pooling.Mean),
        ("pooling_mode_max_tokens", null),
        ("pooling_mode_mean_sqrt_len_tokens", null),
        ("pooling_mode_weightedmean_tokens", null),
        ("pooling_mode_lasttoken", null),
    ];

    private readonly string? _poolingPath;
    private readonly string[] _poolingFields;

    private SentenceTransformerModules(string? poolingPath, string? poolingShown, string[] poolingFields, bool normalize, SentenceBertConfig transformer)
    {
        MaxSeqLength = transformer.MaxSeqLength;
        DoLowerCase = transformer.DoLowerCase;
        _poolingPath = poolingPath;
        PoolingShown = poolingShown;
        _poolingFields = poolingFields;
        Normalize = normalize;
    }

    /// <summary>The Pooling module's config as the plan line names it (<c>1_Pooling/config.json</c>); null without a Pooling module.</summary>
    public string? PoolingShown { get; }

    /// <summary>Whether modules.json has a Normalize module.</summary>
    public bool Normalize { get; }

    /// <summary>
    /// <c>max_seq_length</c> of the directory's sentence_bert_config.json, where <c>encode</c> cuts inputs when no length is
    /// given; null without the file or the field.
    /// </summary>
    public int? MaxSeqLength { get; }

    /// <summary>
    /// <c>do_lower_case</c> of the directory's sentence_bert_config.json: the Transformer module lower-cases every input
    /// (Python's <c>str.lower</c>) before its tokenizer sees it, whatever the tokenizer's own lower-casing.
    /// </summary>
    public bool DoLowerCase { get; }

    /// <summary>How the plan names where <see cref="MaxSeqLength"/> came from.</summary>
    public const string MaxSeqLengthShown = SentenceBertConfig.FileName + " max_seq_length";

    /// <summary>
    /// The length embed, search and serve read a model's inputs at: <paramref name="requested"/> when given, else the
    /// max_seq_length of <paramref name="modules"/>' directory, else <see cref="ModelLength"/>'s trained length.
    /// </summary>
    public static ResolvedLength ResolveLength(SentenceTransformerModules? modules, BertConfig config, BertTokenizer tokenizer, int? requested, string origin)
    {
        if (modules?.MaxSeqLength is not { } maxSeq)
        {
            return ModelLength.Resolve(config, tokenizer, requested, origin);
        }
        // sentence-transformers' Transformer makes max_seq_length the tokenizer's model_max_length and its cut, whatever
        // tokenizer_config.json says (models/Transformer.py): the model declares it was trained that far, so neither the
        // default nor a --max-length up to it is lowered or warned about. ModelLength still bounds it by the position table.
        var declared = Math.Max(ModelLength.Trained(config, tokenizer), maxSeq);
        return ModelLength.Resolve(declared, config.MaxPositionEmbeddings, requested, origin, preferred: maxSeq);
    }

    /// <summary>
    /// Reads <paramref name="dir"/>'s modules.json and its Pooling module's config; null when the directory has no modules.json
    /// (a plain HF model), with its sentence_bert_config.json's max_seq_length and do_lower_case when present. A file that is not the JSON
    /// sentence-transformers writes, or a Pooling path outside the directory, is refused in one line naming it and the field.
    /// </summary>
    public static SentenceTransformerModules? Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        var list = SentenceTransformerModuleList.Read(path);
        var normalize = list.Normalize;
        // Read only beside a modules.json, as sentence-transformers reads it only when it loads the modules that list names.
        var transformer = SentenceBertConfig.Read(Path.Combine(dir, SentenceBertConfig.FileName));
        var poolingDir = list.PoolingDirs.Count > 0 ? list.PoolingDirs[0] : null;
        if (poolingDir is null)
        {
            return new SentenceTransformerModules(null, null, [], normalize, transformer);
        }
        var shown = Path.Combine(poolingDir, "config.json").Replace('\\', '/');
        var configPath = Path.Combine(dir, poolingDir, "config.json");
        if (!File.Exists(configPath))
        {
            throw new BertSharpException($"{path}: its Pooling module's config {configPath} is missing.");
        }
        if (StrictJson.Parse(configPath, "a sentence-transformers pooling config") is not JsonObject config)
        {
            throw new BertSharpException($"{configPath}: expected a sentence-transformers pooling config (a JSON object).");
        }
        var set = new List<string>();
        foreach (var (field, _) in Modes)
        {
            if (!config.TryGetPropertyValue(field, out var value))
            {
                continue;
            }
            if (value is not JsonValue v || !v.TryGetValue<bool>(out var on))
            {
                throw new BertSharpException($"{configPath}: field '{field}': expected true or false, got {StrictJson.Shown(value)}.");
            }
            if (on)
            {
                set.Add(field);
            }
        }
        return new SentenceTransformerModules(configPath, shown, [.. set], normalize, transformer);
    }

    /// <summary>
    /// The pooling the Pooling module declares; null without one. A mode BertSharp does not compute (max, weighted mean, last
    /// token, several at once) is refused in one line naming the file and field, <paramref name="howToChoose"/> telling the user
    /// how to pick cls or mean instead; <paramref name="relative"/> names the file as "the model's 1_Pooling/config.json".
    /// </summary>
    public Pooling? DeclaredPooling(string howToChoose, bool relative = false)
    {
        if (_poolingPath is null)
        {
            return null;
        }
        var file = relative ? $"the model's {PoolingShown}" : _poolingPath;
        if (_poolingFields.Length == 0)
        {
            throw new BertSharpException($"{file}: no pooling_mode_* field is true; {howToChoose}.");
        }
        if (_poolingFields.Length > 1)
        {
            throw new BertSharpException(
                $"{file}: fields {string.Join(" and ", _poolingFields.Select(f => $"'{f}'"))} are all true (their poolings concatenated), which BertSharp does not compute; {howToChoose}.");
        }
        return Modes.First(m => m.Field == _poolingFields[0]).Mode
               ?? throw new BertSharpException($"{file}: field '{_poolingFields[0]}' is true, a pooling BertSharp does not compute (cls or mean); {howToChoose}.");
    }
}
