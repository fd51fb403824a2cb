using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>Next-sentence prediction for a pair.</summary>
/// <param name="IsNextProbability">Probability that B follows A (NSP class 0).</param>
/// <param name="IsRandomProbability">Probability that B is unrelated (NSP class 1).</param>
/// <param name="Logits">The raw NSP logits [IsNext, IsRandom].</param>
public sealed record NextSentenceResult(double IsNextProbability, double IsRandomProbability, float[] Logits)
{
    /// <summary>True when "is next" is the more likely class.</summary>
    public bool IsNext => IsNextProbability >= IsRandomProbability;
}

/// <summary>Scores whether text B follows text A with a model's NSP head (<c>[CLS] A [SEP] B [SEP]</c>).</summary>
public sealed class NextSentence : IDisposable
{
    private readonly BertForNextSentencePrediction _model;
    private readonly Device _device;

    public NextSentence(BertForNextSentencePrediction model, BertTokenizer tokenizer, Device? device = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _device = device ?? CPU;
        _model.to(_device);
        _model.eval();
    }

    public BertTokenizer Tokenizer { get; }

    /// <summary>Loads a model directory with an NSP head (<c>cls.seq_relationship.*</c>, e.g. from <c>bert pretrain</c>).</summary>
    public static NextSentence Load(string modelDirectory, string device = "auto")
    {
        TorchRuntime.EnsureLoaded();
        var tokenizer = BertTokenizer.FromDirectory(modelDirectory);
        var model = BertPretrained.Load<BertForNextSentencePrediction>(modelDirectory, out var report);
        if (report.MissingKeys.Any(k => k.StartsWith("cls.seq_relationship", StringComparison.Ordinal) || k.Contains("pooler", StringComparison.Ordinal)))
        {
            model.Dispose();
            throw new BertSharpException($"{modelDirectory}: the checkpoint has no next-sentence head (cls.seq_relationship.* and the pooler); nsp needs a model from pre-training with NSP.");
        }
        return new NextSentence(model, tokenizer, TorchRuntime.ResolveDevice(device));
    }

    /// <summary>Scores the pair (A, B); inputs longer than the model's positions are truncated longest-first.</summary>
    public NextSentenceResult Predict(string text, string textPair)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(textPair);
        var enc = Tokenizer.Encode(text, textPair, new EncodeOptions { MaxLength = _model.Config.MaxPositionEmbeddings });
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = tensor(enc.Ids.Select(i => (long)i).ToArray(), [1, enc.Ids.Length]).to(_device);
        var types = tensor(enc.TypeIds.Select(i => (long)i).ToArray(), [1, enc.Ids.Length]).to(_device);
        var logits = _model.Forward(new BertInput(ids, null, types)).Logits[0].cpu();
        var p = logits.softmax(-1).data<float>().ToArray();
        return new NextSentenceResult(p[0], p[1], logits.data<float>().ToArray());
    }

    public void Dispose() => _model.Dispose();
}
