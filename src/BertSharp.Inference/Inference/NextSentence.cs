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
public sealed class NextSentence : InferencePipeline<BertForNextSentencePrediction>
{
    /// <param name="model">A model with an NSP head, already on its device.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes the model.</param>
    public NextSentence(BertForNextSentencePrediction model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>Loads a model directory with an NSP head (<c>cls.seq_relationship.*</c>, e.g. from <c>bert pretrain</c>).</summary>
    public static NextSentence Load(string modelDirectory, string device = "auto")
    {
        var (model, tokenizer) = LoadRequiring(modelDirectory, device);
        return new NextSentence(model, tokenizer, ownsModel: true);
    }

    /// <summary>
    /// Scores the pair (A, B); a pair longer than <paramref name="maxLength"/> (default: the trained length) is truncated
    /// longest-first.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// <paramref name="text"/> or <paramref name="textPair"/> keeps no word piece (blank, or only characters the tokenizer
    /// drops), or <paramref name="maxLength"/> is below <see cref="PairLength.Minimum"/>.
    /// </exception>
    public NextSentenceResult Predict(string text, string textPair, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(textPair);
        // Scored as [CLS] [SEP] [SEP], a pair without a text read as an answer.
        WordPieces.Require(Tokenizer, text, BertSharpException.Field("text"));
        WordPieces.Require(Tokenizer, textPair, BertSharpException.Field("text_pair"));
        var length = EffectiveMaxLength(maxLength);
        PairLength.Check(length);
        var enc = Tokenizer.Encode(text, textPair, new EncodeOptions { MaxLength = length });
        return Run(() =>
        {
            var ids = tensor(enc.Ids.Select(i => (long)i).ToArray(), [1, enc.Ids.Length]).to(Device);
            var types = tensor(enc.TypeIds.Select(i => (long)i).ToArray(), [1, enc.Ids.Length]).to(Device);
            // bf16 inside a MixedPrecision.Bf16 scope: the softmax and the values read run in float32.
            var logits = MixedPrecision.Float32(Model.Forward(new BertInput(ids, null, types)).Logits[0]).cpu();
            var p = logits.softmax(-1).data<float>().ToArray();
            NonFiniteOutputException.ThrowIfNotFinite(p, "next-sentence probabilities");
            return new NextSentenceResult(p[0], p[1], logits.data<float>().ToArray());
        });
    }
}
