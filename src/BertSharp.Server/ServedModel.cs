using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Server;

/// <summary>The model a server answers with, and the pipelines its architecture supports.</summary>
public sealed class ServedModel : IDisposable
{
    private ServedModel(BertPreTrainedModel model, BertTokenizer tokenizer, int maxLength)
    {
        Model = model;
        Tokenizer = tokenizer;
        MaxLength = Math.Min(maxLength, Math.Min(model.Config.MaxPositionEmbeddings, tokenizer.ModelMaxLength ?? int.MaxValue));
        Features = new FeatureExtraction(model, tokenizer);
        Attention = new AttentionMaps(model, tokenizer);
        Ner = model is BertForTokenClassification tc ? new TokenClassification(tc, tokenizer) : null;
        Qa = model is BertForQuestionAnswering qa ? new QuestionAnswering(qa, tokenizer) : null;
    }

    /// <summary>Loads the model directory (architecture from its config) onto <paramref name="device"/>.</summary>
    public static ServedModel Load(string modelDirectory, string device, int maxLength)
    {
        var model = BertPretrained.Load(null, modelDirectory, out _);
        try
        {
            model.to(TorchRuntime.ResolveDevice(device));
            return new ServedModel(model, ModelFiles.LoadTokenizer(modelDirectory), maxLength);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public BertPreTrainedModel Model { get; }

    public BertTokenizer Tokenizer { get; }

    /// <summary>The model class name (HF architecture).</summary>
    public string Architecture => Model.GetType().Name;

    /// <summary>Longest input in tokens, special tokens included.</summary>
    public int MaxLength { get; }

    public FeatureExtraction Features { get; }

    public AttentionMaps Attention { get; }

    /// <summary>Token classification, when the model has that head.</summary>
    public TokenClassification? Ner { get; }

    /// <summary>Question answering, when the model has that head.</summary>
    public QuestionAnswering? Qa { get; }

    /// <summary>Throws 422 when <paramref name="text"/> has more than <paramref name="limit"/> tokens (special tokens included).</summary>
    public void CheckLength(string text, string field, int? limit = null, int specialTokens = 2)
    {
        var max = limit ?? MaxLength;
        var count = Tokenizer.CountTokens(text) + specialTokens;
        if (count > max)
        {
            throw new ApiException(422, $"'{field}' has {count} tokens (with special tokens); the limit is {max}.");
        }
    }

    public void Dispose()
    {
        Features.Dispose();
        Attention.Dispose();
        Ner?.Dispose();
        Qa?.Dispose();
        Model.Dispose();
    }
}
