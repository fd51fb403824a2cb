using System.Globalization;
using BertSharp.Checkpoints;
using BertSharp.IO;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>Options for <see cref="BertPretrained.Save"/>.</summary>
/// <param name="Dtype">Weight dtype in model.safetensors: float32 (default), float16 or bfloat16.</param>
/// <param name="TokenizerFrom">A directory whose tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json) are copied along.</param>
/// <param name="WriteExtraFiles">Called with the output directory (still temporary) to add more files.</param>
/// <param name="Tokenizer">A tokenizer whose files (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json) are written along.</param>
/// <param name="Overwrite">Allow saving into a non-empty directory that BertSharp did not write (only its own files are then
/// replaced; see <see cref="OutputDirectory"/>).</param>
public sealed record SaveOptions(
    ScalarType Dtype = ScalarType.Float32, string? TokenizerFrom = null, Action<string>? WriteExtraFiles = null, BertTokenizer? Tokenizer = null,
    bool Overwrite = false);

/// <summary>
/// HuggingFace-compatible <c>from_pretrained</c> / <c>save_pretrained</c> for every BERT model class: config.json +
/// model.safetensors (or pytorch_model.bin, sharded safetensors) with HF's key mapping rules.
/// </summary>
public static class BertPretrained
{
    /// <summary>Tokenizer files HF keeps beside a model.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>What <see cref="Save"/> writes: it may replace only a directory holding a model, not a run or data.</summary>
    // The model card (README.md) that pre-training writes into final/ is the model's: a later run's final/ replaces it.
    internal static readonly OutputKind ModelKind = new("a model", ["config.json", "model.safetensors", "README.md", .. TokenizerFiles]);

    private static readonly Dictionary<string, Func<BertConfig, BertPreTrainedModel>> Factories = new(StringComparer.Ordinal)
    {
        [nameof(BertModel)] = c => new BertModel(c),
        [nameof(BertForPreTraining)] = c => new BertForPreTraining(c),
        [nameof(BertForMaskedLM)] = c => new BertForMaskedLM(c),
        [nameof(BertForNextSentencePrediction)] = c => new BertForNextSentencePrediction(c),
        [nameof(BertForSequenceClassification)] = c => new BertForSequenceClassification(c),
        [nameof(BertForTokenClassification)] = c => new BertForTokenClassification(c),
        [nameof(BertForQuestionAnswering)] = c => new BertForQuestionAnswering(c),
        [nameof(BertForMultipleChoice)] = c => new BertForMultipleChoice(c),
    };

    /// <summary>Model class names BertSharp can build (HF <c>architectures</c> values).</summary>
    public static IReadOnlyCollection<string> Architectures => Factories.Keys;

    /// <summary>Builds a freshly initialised model of class <paramref name="architecture"/> (HF init).</summary>
    public static BertPreTrainedModel Create(string architecture, BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(config);
        var model = Construct(architecture, config);
        model.InitWeights();
        return model;
    }

    private static BertPreTrainedModel Construct(string architecture, BertConfig config)
    {
        var f = Factory(architecture);
        LoadPreflight.CheckTiedDecoder(architecture, config, "config");
        var count = ParameterShapes.Count(architecture, config);
        if (count > ParameterShapes.MaxParameters)
        {
            throw new BertSharpException(
                $"config: {architecture} with these sizes has {(count == long.MaxValue ? "more than 9e18" : count.ToString("N0", CultureInfo.InvariantCulture))} parameters; " +
                Invariant($"BertSharp builds at most {ParameterShapes.MaxParameters:N0} (check vocab_size, hidden_size, num_hidden_layers, intermediate_size)."));
        }
        TorchRuntime.EnsureLoaded();
        return f(config);
    }

    private static Func<BertConfig, BertPreTrainedModel> Factory(string architecture) =>
        Factories.TryGetValue(architecture, out var f)
            ? f
            : throw new BertSharpException($"architecture '{architecture}': expected one of {string.Join(", ", Factories.Keys)}.");

    /// <summary>Builds a freshly initialised <typeparamref name="TModel"/> (HF init).</summary>
    public static TModel Create<TModel>(BertConfig config) where TModel : BertPreTrainedModel
    {
        ArgumentNullException.ThrowIfNull(config);
        return (TModel)Create(typeof(TModel).Name, config);
    }

    /// <summary>Reads config.json of a model directory or Hub id.</summary>
    public static BertConfig LoadConfig(string idOrDir, HubOptions? hub = null) => LoadConfig(idOrDir, out _, hub);

    /// <summary>Reads config.json of a model directory or Hub id, and gives the directory it is in (for <see cref="Load(string?, string, BertConfig, out LoadReport)"/>).</summary>
    internal static BertConfig LoadConfig(string idOrDir, out string dir, HubOptions? hub = null)
    {
        ArgumentNullException.ThrowIfNull(idOrDir);
        dir = ResolveDirectory(idOrDir, hub);
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath) && RunCheckpoints.Newest(dir, "config.json") is { } checkpoint)
        {
            // A run stopped by Ctrl-C (or still training) holds checkpoints, and its model only once it ends: "config.json:
            // config file not found" left a learner who had just fine-tuned it wondering what went wrong. The checkpoint is
            // named inside the run, as the interrupted run named it.
            throw new BertSharpException($"{dir}: an unfinished training run, not a model yet (no config.json; its newest checkpoint is " +
                                         $"{Path.GetFileName(checkpoint)}); finish the run with {BertSharpException.Field("resume")}, or use that checkpoint's directory as the model.");
        }
        return TypedModelNames.Load(idOrDir, dir, () => BertConfig.Load(configPath));
    }

    /// <summary>
    /// Loads the tokenizer of the model directory <paramref name="dir"/> (<see cref="BertTokenizer.FromDirectory"/>) for the
    /// model configured by <paramref name="config"/>, refusing a vocabulary with more tokens than <c>vocab_size</c> or
    /// without [CLS] and [SEP].
    /// </summary>
    public static BertTokenizer LoadTokenizer(string dir, BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(config);
        var tokenizer = BertTokenizer.FromDirectory(dir);
        var json = Path.Combine(dir, "tokenizer.json");
        var file = File.Exists(json) ? json : Path.Combine(dir, "vocab.txt");
        CheckVocabulary(tokenizer, config, file, "config.json vocab_size");
        if (tokenizer.MissingClsSep() is { } missing)
        {
            // Refused here, naming the file: every pipeline failed only at its first text, with the encoder's advice to
            // leave the special tokens out, which a model that reads [CLS] A [SEP] cannot follow.
            throw new BertSharpException(
                $"{file}: the vocabulary has no {missing}; a BERT model reads every input as {tokenizer.Specials.Cls} text {tokenizer.Specials.Sep}, so it cannot be run with this vocabulary.");
        }
        return tokenizer;
    }

    /// <summary>
    /// Refuses a tokenizer with more tokens than the model has embeddings; <paramref name="tokenizerName"/> and
    /// <paramref name="vocabSizeName"/> say where each number comes from (a file, or "the model's vocab_size").
    /// </summary>
    internal static void CheckVocabulary(BertTokenizer tokenizer, BertConfig config, string tokenizerName, string vocabSizeName)
    {
        // An id past the embedding matrix fails only inside libtorch's index_select, and only when a text happens to use it.
        if (tokenizer.Vocab.Count > config.VocabSize)
        {
            throw new BertSharpException(
                string.Create(CultureInfo.InvariantCulture, $"{tokenizerName}: {tokenizer.Vocab.Count} tokens (ids up to {tokenizer.Vocab.Count - 1}), but {vocabSizeName} is {config.VocabSize}; " +
                $"the model has embeddings for ids 0..{config.VocabSize - 1} only."));
        }
    }

    /// <summary>
    /// Loads a checkpoint (local directory or Hub id) into a new <typeparamref name="TModel"/>. Keys are mapped as HF does
    /// (with or without the <c>bert.</c> prefix, legacy gamma/beta); missing head weights are initialised and listed in the
    /// report, unexpected tensors listed; fp16/bf16 weights become fp32.
    /// </summary>
    public static TModel Load<TModel>(string idOrDir, out LoadReport report, Action<BertConfig>? configure = null, HubOptions? hub = null)
        where TModel : BertPreTrainedModel =>
        (TModel)Load(typeof(TModel).Name, idOrDir, out report, configure, hub);

    /// <summary>As <see cref="Load{TModel}(string, out LoadReport, Action{BertConfig}?, HubOptions?)"/>, ignoring the report.</summary>
    public static TModel Load<TModel>(string idOrDir, Action<BertConfig>? configure = null) where TModel : BertPreTrainedModel =>
        Load<TModel>(idOrDir, out _, configure);

    /// <summary>Loads a checkpoint into the class named by <paramref name="architecture"/>, or by the config's <c>architectures[0]</c> when null.</summary>
    public static BertPreTrainedModel Load(string? architecture, string idOrDir, out LoadReport report, Action<BertConfig>? configure = null,
        HubOptions? hub = null)
    {
        var config = LoadConfig(idOrDir, out var dir, hub);
        configure?.Invoke(config);
        (var model, report) = TypedModelNames.Load(idOrDir, dir, () => (Load(architecture, dir, config, out var loaded), loaded));
        return model;
    }

    /// <summary>
    /// As <see cref="Load{TModel}(string, out LoadReport, Action{BertConfig}?, HubOptions?)"/> from the config a caller has
    /// already read from <paramref name="dir"/> (to check it first): the file is not parsed again, and the model keeps
    /// <paramref name="config"/> as its <see cref="BertPreTrainedModel.Config"/>.
    /// </summary>
    internal static TModel Load<TModel>(string dir, BertConfig config, out LoadReport report) where TModel : BertPreTrainedModel =>
        (TModel)Load(typeof(TModel).Name, dir, config, out report);

    /// <inheritdoc cref="Load{TModel}(string, BertConfig, out LoadReport)"/>
    internal static BertPreTrainedModel Load(string? architecture, string dir, BertConfig config, out LoadReport report)
    {
        // libtorch loads in Construct, after the preflight: a checkpoint refused by its config or headers never pays for it
        // (about 0.7 CPU-s and 200 MB in a fresh process such as 'bert convert').
        architecture ??= config.Architectures?.FirstOrDefault(Factories.ContainsKey) ?? nameof(BertModel);
        Factory(architecture);
        // The config decides every allocation: check it against the checkpoint's headers before the model exists.
        LoadPreflight.Check(architecture, config, CheckpointHeaders.Read(dir), dir);
        // Only the weights the checkpoint lacks get HF's initialisation (LoadStateDict does it), as HF's fast init.
        var model = Construct(architecture, config);
        try
        {
            // The weights go straight from the files (safetensors, .bin, shards) into the parameters: the load never holds
            // a second copy of them (bert-base: 440 MB less peak memory, see bench/load-memory.sh).
            using var checkpoint = CheckpointTensors.Open(dir);
            report = LoadStateDict(model, checkpoint, dir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>
    /// Copies checkpoint tensors into <paramref name="model"/> by HF's rules. A tensor whose shape differs from the parameter's
    /// is an error naming both shapes.
    /// </summary>
    public static LoadReport LoadStateDict(BertPreTrainedModel model, IReadOnlyDictionary<string, Tensor> checkpoint, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(source);
        using var tensors = CheckpointTensors.Of(checkpoint);
        return LoadStateDict(model, tensors, source);
    }

    private static LoadReport LoadStateDict(BertPreTrainedModel model, CheckpointTensors checkpoint, string source)
    {
        var renamed = checkpoint.Keys.Where(k => CheckpointKeys.Normalize(k) != k).Select(k => $"{k} → {CheckpointKeys.Normalize(k)}").ToList();

        var parameters = model.NamedParameters();
        var expected = parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        const string prefix = BertPreTrainedModel.BaseModelPrefix + ".";
        var modelHasPrefix = expected.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        var byName = CheckpointKeys.MapToModel(checkpoint.Keys, modelHasPrefix, source, out var unexpected)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

        var ties = model.TiedKeys;
        var missing = new List<string>();
        using (torch.no_grad())
        {
            foreach (var (name, p) in parameters)
            {
                var src = byName.GetValueOrDefault(name)
                          ?? ties.Where(kv => kv.Value == name).Select(kv => byName.GetValueOrDefault(kv.Key)).FirstOrDefault(t => t is not null);
                if (src is null)
                {
                    missing.Add(name);
                    continue;
                }
                var shape = checkpoint.Shape(src);
                if (!shape.SequenceEqual(p.shape))
                {
                    throw new BertSharpException(
                        $"{source}: tensor '{name}' has shape [{ShapeText.Join(shape)}] in the checkpoint but the model " +
                        $"(config.json) needs [{ShapeText.Join(p.shape)}].");
                }
                checkpoint.CopyInto(src, p);
            }
        }
        model.InitWeights(only: missing.ToHashSet(StringComparer.Ordinal));
        // HF reports a tied alias as missing only when what it is tied to is missing too.
        foreach (var (alias, target) in ties)
        {
            if (missing.Contains(target) && !byName.ContainsKey(alias))
            {
                missing.Add(alias);
            }
        }
        foreach (var key in byName.Keys)
        {
            if (!expected.Contains(key) && !ties.ContainsKey(key) && !IsIgnoredUnexpected(model, key))
            {
                unexpected.Add(key);
            }
        }
        missing.Sort(StringComparer.Ordinal);
        unexpected.Sort(StringComparer.Ordinal);
        var dtypes = checkpoint.Keys.Select(k => checkpoint.DType(k).ToString()).Distinct().Order(StringComparer.Ordinal).ToList();
        return new LoadReport(source, missing, unexpected, renamed, dtypes);
    }

    // HF drops these silently: the position_ids buffer older checkpoints carry, and the pooler of a checkpoint loaded into a
    // head built without one (_keys_to_ignore_on_load_unexpected = ["pooler"]).
    private static bool IsIgnoredUnexpected(BertPreTrainedModel model, string key) =>
        key.EndsWith("embeddings.position_ids", StringComparison.Ordinal) ||
        (!model.Bert.HasPooler && model is not BertModel && key.Contains("pooler", StringComparison.Ordinal));

    /// <summary>The tensors HF's save_pretrained writes for <paramref name="model"/>: every parameter once, tied aliases left out.</summary>
    public static Dictionary<string, Tensor> StateDict(BertPreTrainedModel model, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.ThrowIfDisposed();
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        // The detached view and the device/dtype copies are new handles: the scope frees them now instead of leaving
        // them to the finaliser; only the returned tensors move out to the caller.
        using var scope = NewDisposeScope();
        foreach (var (name, p) in model.NamedParameters())
        {
            d[name] = p.detach().to(torch.CPU).to_type(dtype).contiguous().MoveToOuterDisposeScope();
        }
        return d;
    }

    /// <summary>
    /// Writes config.json and model.safetensors (keys, dtypes and shapes as HF writes them) and optional tokenizer files,
    /// atomically: the directory appears complete or not at all (<see cref="AtomicFile.WriteDirectory"/>). A non-empty
    /// directory that BertSharp did not write is refused unless <see cref="SaveOptions.Overwrite"/>.
    /// </summary>
    public static void Save(BertPreTrainedModel model, string dir, SaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dir);
        // Refused before the directory is touched: with Overwrite, what it holds would be replaced.
        model.ThrowIfDisposed();
        options ??= new SaveOptions();
        AtomicFile.WriteDirectory(dir, tmp => WriteFiles(model, tmp, options), options.Overwrite, ModelKind);
    }

    /// <summary>
    /// The files of <see cref="Save"/>, written into the existing directory <paramref name="dir"/> (a staging directory the
    /// caller publishes, e.g. with more files of a run in it).
    /// </summary>
    public static void WriteFiles(BertPreTrainedModel model, string dir, SaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dir);
        options ??= new SaveOptions();
        var dtypeName = options.Dtype switch
        {
            ScalarType.Float32 => "float32",
            ScalarType.Float16 => "float16",
            ScalarType.BFloat16 => "bfloat16",
            _ => throw new BertSharpException($"{BertSharpException.Field("dtype")} {options.Dtype}: expected float32, float16 or bfloat16."),
        };
        if (options.TokenizerFrom is { } tf && !Directory.Exists(tf))
        {
            throw new BertSharpException($"{tf}: tokenizer directory not found.");
        }
        var config = model.Config.Clone();
        config.Architectures = [model.GetType().Name];
        config.TorchDtype = dtypeName;
        var tensors = StateDict(model, options.Dtype);
        try
        {
            // A checkpoint without tensors loads as a freshly initialised model, with every weight reported missing.
            if (tensors.Count == 0)
            {
                throw new BertSharpException($"{model.GetType().Name}: the model has no parameters; expected weights to write to model.safetensors.");
            }
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson() + "\n");
            SafeTensors.Save(Path.Combine(dir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            if (options.TokenizerFrom is { } from)
            {
                foreach (var f in TokenizerFiles)
                {
                    var src = Path.Combine(from, f);
                    if (File.Exists(src))
                    {
                        FreshCopy.Copy(src, Path.Combine(dir, f));
                    }
                }
            }
            options.Tokenizer?.Save(dir);
            options.WriteExtraFiles?.Invoke(dir);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>The local model directory for a directory path or Hub id (downloaded into the HF cache when needed).</summary>
    public static string ResolveDirectory(string idOrDir, HubOptions? hub = null)
    {
        ArgumentNullException.ThrowIfNull(idOrDir);
        return ModelLocator.Resolve(idOrDir, hub);
    }

    /// <summary>Parses a dtype name given on the command line (float32/fp32, float16/fp16/half, bfloat16/bf16).</summary>
    public static ScalarType ParseDtype(string name) => (name ?? throw new ArgumentNullException(nameof(name))).Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "float16" or "fp16" or "half" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new BertSharpException($"{BertSharpException.Field("dtype")} {name}: expected float32, float16 or bfloat16."),
    };
}
