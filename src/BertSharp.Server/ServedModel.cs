using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Server;

/// <summary>The model a server answers with, and the pipelines its architecture supports.</summary>
public sealed class ServedModel : IDisposable
{
    private ServedModel(string name, BertPreTrainedModel model, BertTokenizer tokenizer, ResolvedLength length, TextClassifier? classifier,
        SentenceTransformerModules? modules)
    {
        Name = name;
        Modules = modules;
        Model = model;
        Tokenizer = tokenizer;
        Length = length;
        MaxLength = length.Length;
        Classifier = classifier;
        Reranker = classifier is not null && CrossEncoder.NotOneLabel(classifier, name) is null
            ? CrossEncoder.Over(classifier, name, configActivation: false)
            : null;
        (ZeroShot, ZeroShotRefusal) = ZeroShotOf(classifier, name);
        Features = new FeatureExtraction(model, tokenizer);
        Attention = new AttentionMaps(model, tokenizer);
        // The endpoint's default aggregation is the one `bert ner` uses for this model.
        Ner = model is BertForTokenClassification tc
            ? new TokenClassification(tc, tokenizer) { DefaultAggregation = TokenClassification.DefaultAggregationFor(name) }
            : null;
        Qa = model is BertForQuestionAnswering qa ? new QuestionAnswering(qa, tokenizer) : null;
        FillMask = model is BertForMaskedLM mlm ? new FillMask(mlm, tokenizer) : null;
    }

    /// <summary>
    /// Loads the model directory or Hub id (<see cref="ModelLocator.Resolve"/>: a cached snapshot, else a download unless
    /// offline) onto <paramref name="device"/> as the class its config names. A pre-training checkpoint is
    /// served as a masked LM (the NSP head has no endpoint); a sequence classifier is loaded with its labels. A checkpoint
    /// lacking the weights of its class's head is refused (<see cref="RequiredWeights"/>). The longest input follows
    /// <see cref="ModelLength"/>: the trained length, or <paramref name="maxLength"/> up to max_position_embeddings.
    /// </summary>
    /// <param name="modelDirectory">The HF model directory or Hub id; messages and <see cref="Name"/> say it as given.</param>
    /// <param name="device">auto, cpu, cuda or cuda:N.</param>
    /// <param name="maxLength">Longest input in tokens (null: the trained length).</param>
    /// <param name="backend">ONNX Runtime runs classification and embeddings when set (the graph from <c>bert export-onnx</c>).</param>
    public static ServedModel Load(string modelDirectory, string device, int? maxLength, InferenceBackend? backend = null)
    {
        backend ??= InferenceBackend.Torch;
        ArgumentNullException.ThrowIfNull(modelDirectory);
        // What is written as a path is refused here with the server's own message; anything else may be a Hub id, which
        // the resolver refuses in its own words when it names neither a directory nor a model it can fetch.
        if (!Directory.Exists(modelDirectory) && !ModelLocator.IsHubId(modelDirectory))
        {
            throw new BertSharpException($"{BertSharpException.Field("model")} {modelDirectory}: model directory not found.");
        }
        var dev = TorchRuntime.ResolveDevice(device);
        var config = BertPretrained.LoadConfig(modelDirectory, out var dir);
        return TypedModelNames.Load(modelDirectory, dir, () => Load(modelDirectory, dir, config, dev, maxLength, backend));
    }

    /// <summary>
    /// As <see cref="Load(string, string, int?, InferenceBackend?)"/> from the config read from <paramref name="dir"/> (the
    /// resolved <paramref name="modelDirectory"/>, which stays the name in messages): the pipelines build the model from it
    /// rather than parse the file again.
    /// </summary>
    internal static ServedModel Load(string modelDirectory, string dir, BertConfig config, torch.Device device, int? maxLength, InferenceBackend backend)
    {
        var architecture = config.Architectures?.FirstOrDefault(BertPretrained.Architectures.Contains) ?? nameof(BertModel);
        // Before the weights load: a malformed modules.json refuses the server, not its first embeddings request.
        var modules = SentenceTransformerModules.Read(dir);
        if (architecture == nameof(BertForSequenceClassification))
        {
            // Under ONNX Runtime the torch model stays on the CPU (as TextClassifier.Load with a backend puts it).
            var classifier = TextClassifier.Load(dir, config, backend.IsOnnxRuntime ? torch.CPU : device, maxLength, backend, modelDirectory);
            return new ServedModel(modelDirectory, classifier.Model, classifier.Tokenizer, classifier.Length, classifier, modules).WithBackend(backend);
        }
        if (architecture == nameof(BertForPreTraining))
        {
            architecture = nameof(BertForMaskedLM);
        }
        if (architecture == nameof(BertForTokenClassification))
        {
            TokenClassification.RequireDistinctTags(config, modelDirectory);
        }
        var tokenizer = BertPretrained.LoadTokenizer(dir, config);
        var model = BertPretrained.Load(architecture, dir, config, out var report);
        try
        {
            RequiredWeights.Check(report, architecture, modelDirectory);
            // A sentence-transformers model's max_seq_length is its longest input, as its encode cuts there.
            var length = SentenceTransformerModules.ResolveLength(modules, model.Config, tokenizer, maxLength, modelDirectory);
            model.to(device);
            return new ServedModel(modelDirectory, model, tokenizer, length, null, modules).WithBackend(backend);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private ServedModel WithBackend(InferenceBackend backend)
    {
        try
        {
            if (Classifier?.OnnxSession is { } shared)
            {
                Features.UseSession(shared, ownsSession: false);
            }
            else
            {
                Features.UseBackend(backend);
            }
            Backend = backend;
            return this;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The engine of the classification and embedding endpoints.</summary>
    public InferenceBackend Backend { get; private set; } = InferenceBackend.Torch;

    /// <summary>The model as it was given to <see cref="Load(string, string, int?, InferenceBackend?)"/>: its directory or Hub id, not the cache snapshot an id resolved to.</summary>
    public string Name { get; }

    public BertPreTrainedModel Model { get; }

    public BertTokenizer Tokenizer { get; }

    /// <summary>The model class name (HF architecture).</summary>
    public string Architecture => Model.GetType().Name;

    /// <summary>Longest input in tokens, special tokens included.</summary>
    public int MaxLength { get; }

    /// <summary>How <see cref="MaxLength"/> was decided, with its warning when it uses untrained positions.</summary>
    public ResolvedLength Length { get; }

    /// <summary>Whether the classifier was fine-tuned on sentence pairs (classify then needs <c>text_pair</c>).</summary>
    public bool PairInput => Classifier?.PairInput ?? false;

    public FeatureExtraction Features { get; }

    /// <summary>The pooling and normalisation a sentence-transformers model declares, the embeddings' defaults; null for a plain HF model.</summary>
    internal SentenceTransformerModules? Modules { get; }

    /// <summary>
    /// The embeddings' options at the served length, lower-casing every text as the model's sentence-transformers module does
    /// when its sentence_bert_config.json sets do_lower_case.
    /// </summary>
    internal FeatureExtractionOptions EmbeddingOptions(Pooling pooling, bool normalize, int batchSize) =>
        new(pooling, normalize, MaxLength, batchSize) { LowerCase = Modules?.DoLowerCase == true };

    public AttentionMaps Attention { get; }

    /// <summary>Sequence classification, when the model has that head.</summary>
    public TextClassifier? Classifier { get; }

    /// <summary>
    /// Reranking (<c>POST /rerank</c>), when the classifier is a cross-encoder: one label, not fine-tuned on single texts. Its
    /// scores are text-embeddings-inference's, the sigmoid of the logit whatever activation config.json names.
    /// </summary>
    public CrossEncoder? Reranker { get; }

    /// <summary>
    /// Zero-shot classification (<c>POST /zero-shot</c>), when the classifier is an NLI model that
    /// <see cref="ZeroShotClassifier"/> takes: an entailment label, not fine-tuned on single texts.
    /// </summary>
    public ZeroShotClassifier? ZeroShot { get; }

    /// <summary>Why <see cref="ZeroShot"/> is null for a sequence classifier (<see cref="ZeroShotClassifier"/>'s refusal), else null.</summary>
    internal string? ZeroShotRefusal { get; }

    // The refusal names the model as /health does: a server on a public address does not show where its files are.
    private static (ZeroShotClassifier?, string?) ZeroShotOf(TextClassifier? classifier, string name)
    {
        if (classifier is null)
        {
            return (null, null);
        }
        try
        {
            return (ZeroShotClassifier.Over(classifier, PublicModelName.Of(name)), null);
        }
        catch (BertSharpException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Token classification, when the model has that head.</summary>
    public TokenClassification? Ner { get; }

    /// <summary>Question answering, when the model has that head.</summary>
    public QuestionAnswering? Qa { get; }

    /// <summary>Masked-token prediction, when the model has the MLM head.</summary>
    public FillMask? FillMask { get; }

    /// <summary>
    /// Throws 422 when the tokenizer keeps no word piece of <paramref name="text"/> (only control or zero-width characters): it
    /// passed the blank check, and /v1/ner answered no entity and /v1/qa no answer, each with 200.
    /// </summary>
    internal void CheckWordPieces(string text, string field)
    {
        if (Tokenizer.CountTokens(text) == 0)
        {
            throw new ApiException(422, WordPieces.Missing($"'{field}'"));
        }
    }

    /// <summary>
    /// Throws 422 when <paramref name="text"/> has more than <paramref name="limit"/> tokens (special tokens included);
    /// <paramref name="pairField"/> names the second text counted in with it. Returns the count (OpenAI's usage reports it).
    /// </summary>
    public int CheckLength(string text, string field, int? limit = null, int specialTokens = 2, string? pairField = null)
    {
        var max = limit ?? MaxLength;
        var count = Tokenizer.CountTokens(text) + specialTokens;
        if (count > max)
        {
            // A pair is counted together: "'text' has 67 tokens" for a 4-token text sent the user to shorten the wrong one.
            throw new ApiException(422, pairField is null
                ? $"'{field}' has {count} tokens (with special tokens); the limit is {max}."
                : $"'{field}' and '{pairField}' have {count} tokens together (with special tokens); the limit is {max}.");
        }
        return count;
    }

    private int _disposed;

    public void Dispose()
    {
        // A server's app disposes its model, and so may the caller that failed to build it: only the first call disposes.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // The pipelines share the one model: dispose it once, here.
        Features.Dispose();
        Classifier?.OnnxSession?.Dispose();
        Attention.Dispose();
        Ner?.Dispose();
        Qa?.Dispose();
        Model.Dispose();
    }
}
