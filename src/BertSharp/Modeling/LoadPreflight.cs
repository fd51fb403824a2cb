using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;

namespace BertSharp.Modeling;

/// <summary>
/// Checks a config against a checkpoint's tensor headers before the model is allocated: config.json controls every size the
/// model allocates, so a hostile or mistaken config (vocab_size 2²³, a million layers) must fail on the headers, in
/// milliseconds, not after gigabytes were allocated and initialised.
/// </summary>
internal static class LoadPreflight
{
    /// <summary>
    /// Parameters the checkpoint lacks are freshly initialised, as HF does for a new head; this many may always be missing
    /// (a classification or MLM head over a large vocabulary is far smaller).
    /// </summary>
    public const long FreshParameterAllowance = 1L << 24;

    /// <summary>
    /// Throws <see cref="BertSharpException"/> when a checkpoint tensor's shape differs from the parameter the config asks for,
    /// when the checkpoint holds no tensors, or when the config asks for more new (missing) parameters than
    /// max(the parameters the checkpoint supplies, <see cref="FreshParameterAllowance"/>).
    /// </summary>
    public static void Check(string architecture, BertConfig config, IReadOnlyList<CheckpointTensor> tensors, string source)
    {
        if (tensors.Count == 0)
        {
            throw new BertSharpException($"{source}: the checkpoint holds no tensors; there are no weights to load.");
        }
        CheckTiedDecoder(architecture, config, source);
        var expected = ParameterShapes.For(architecture, config);
        var modelHasPrefix = expected.Any(p => p.Name.StartsWith(BertPreTrainedModel.BaseModelPrefix + ".", StringComparison.Ordinal));
        var map = CheckpointKeys.MapToModel(tensors.Select(t => t.Name), modelHasPrefix, source, out _);
        var shapes = new Dictionary<string, long[]>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            shapes[t.Name] = t.Shape;
        }
        var ties = HasMlmHead(architecture)
            ? BertHeadKeys.MlmTies
            : new Dictionary<string, string>();
        long supplied = 0, missing = 0;
        foreach (var (name, shape) in expected)
        {
            var key = map.GetValueOrDefault(name)
                      ?? ties.Where(kv => kv.Value == name).Select(kv => map.GetValueOrDefault(kv.Key)).FirstOrDefault(k => k is not null);
            var count = shape.Aggregate(1L, (a, b) => a * b);
            if (key is null)
            {
                missing += count;
                continue;
            }
            var stored = shapes[key];
            if (!stored.SequenceEqual(shape))
            {
                throw new BertSharpException(
                    $"{source}: tensor '{name}' has shape [{ShapeText.Join(stored)}] in the checkpoint but the model " +
                    $"(config.json) needs [{ShapeText.Join(shape)}].");
            }
            supplied += count;
        }
        if (missing > Math.Max(supplied, FreshParameterAllowance))
        {
            throw new BertSharpException(
                $"{source}: config.json asks for {missing.ToString("N0", CultureInfo.InvariantCulture)} parameters that the checkpoint " +
                $"does not have, more than the {supplied.ToString("N0", CultureInfo.InvariantCulture)} it supplies (limit: new parameters ≤ " +
                $"max(supplied, {FreshParameterAllowance.ToString("N0", CultureInfo.InvariantCulture)})); check num_hidden_layers and the other sizes against the weights.");
        }
    }

    /// <summary>
    /// Refuses a config that unties the MLM decoder from the word embeddings (<c>tie_word_embeddings: false</c>) for a class
    /// with an MLM head: BertSharp's decoder is the embedding matrix, so a separate <c>cls.predictions.decoder.weight</c> was
    /// ignored on load (predictions from the wrong matrix), left out on save, and a model trained from such a config was
    /// saved under a config that HF reads as untied.
    /// </summary>
    public static void CheckTiedDecoder(string architecture, BertConfig config, string source)
    {
        if (HasMlmHead(architecture) && config.Extra.TryGetValue("tie_word_embeddings", out var v) && v is JsonValue jv
            && jv.TryGetValue<bool>(out var tied) && !tied)
        {
            throw new BertSharpException(
                $"{source}: field 'tie_word_embeddings' is false (a masked-LM decoder matrix of its own, cls.predictions.decoder.weight), " +
                $"but {architecture} decodes masked tokens with the word-embedding matrix (tied, HF's default) and cannot hold one. " +
                "Load the encoder alone (BertModel); setting the field to true would decode with the word embeddings instead of the trained decoder.");
        }
    }

    private static bool HasMlmHead(string architecture) => architecture is nameof(BertForPreTraining) or nameof(BertForMaskedLM);
}
