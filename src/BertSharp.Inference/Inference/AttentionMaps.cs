using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>Attention probabilities of one text: <c>Weights[layer][head][query][key]</c> over <see cref="Tokens"/>.</summary>
public sealed record AttentionMap(IReadOnlyList<string> Tokens, float[][][][] Weights);

/// <summary>Every layer's and head's attention probabilities (the eager attention path) for a text.</summary>
public sealed class AttentionMaps : InferencePipeline<BertPreTrainedModel>
{
    /// <summary>A pipeline over an already loaded <paramref name="model"/>, on the device the model is on.</summary>
    /// <param name="model">
    /// Any BERT model; only its encoder (<see cref="BertPreTrainedModel.Bert"/>) runs; it is switched to evaluation
    /// mode, which every other user of it sees too.
    /// </param>
    /// <param name="tokenizer">
    /// The model's tokenizer; its vocabulary must fit the model's <see cref="BertConfig.VocabSize"/>.
    /// </param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes <paramref name="model"/> as well.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="tokenizer"/> is null.</exception>
    /// <exception cref="BertSharpException">The tokenizer has more tokens than the model has embeddings.</exception>
    public AttentionMaps(BertPreTrainedModel model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>Attention of <paramref name="text"/> (truncated to <paramref name="maxLength"/> tokens).</summary>
    public AttentionMap Compute(string text, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var encoding = Tokenizer.Encode(text, null, new EncodeOptions { MaxLength = EffectiveMaxLength(maxLength), Truncation = TruncationStrategy.LongestFirst });
        var n = encoding.Length;
        var layers = Run(() =>
        {
            var output = Model.Bert.Forward(Batching.Pad([encoding], Tokenizer.PadId, Device), outputAttentions: true);
            return output.Attentions!.Select(InferenceBatch.ToFloats).ToArray();
        });
        var heads = Model.Config.NumAttentionHeads;
        var weights = layers.Select(flat =>
            Enumerable.Range(0, heads).Select(h =>
                Enumerable.Range(0, n).Select(q => flat[(((h * n) + q) * n)..((((h * n) + q) * n) + n)]).ToArray()).ToArray()).ToArray();
        return new AttentionMap(encoding.Tokens, weights);
    }
}
