using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>One candidate for a <c>[MASK]</c>.</summary>
/// <param name="TokenId">Vocabulary id of the candidate.</param>
/// <param name="Token">The candidate word piece.</param>
/// <param name="Score">Softmax probability over the vocabulary at the masked position.</param>
/// <param name="Sequence">The input decoded with this candidate in place of that mask (with several masks, HF keeps special tokens and the other masks; padding is left out).</param>
public sealed record FillMaskPrediction(int TokenId, string Token, double Score, string Sequence);

/// <summary>
/// HF's fill-mask pipeline: encodes a text containing one or more <c>[MASK]</c> tokens, runs the masked-LM head and returns
/// the top-k tokens for every mask, most probable first; with <see cref="FillMaskTargets"/>, the top-k of those tokens only.
/// </summary>
public sealed class FillMask : InferencePipeline<BertForMaskedLM>
{
    /// <param name="model">A model with an MLM head, already on its device.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes the model.</param>
    public FillMask(BertForMaskedLM model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>
    /// Loads a model directory (any checkpoint with an MLM head, e.g. one written by <c>bert pretrain</c>) with its tokenizer.
    /// </summary>
    public static FillMask Load(string modelDirectory, string device = "auto")
    {
        var (model, tokenizer) = LoadRequiring(modelDirectory, device);
        return new FillMask(model, tokenizer, ownsModel: true);
    }

    /// <summary>Top <paramref name="topK"/> candidates for each <c>[MASK]</c> of <paramref name="text"/>, in mask order.</summary>
    /// <param name="text">Text with one or more <c>[MASK]</c> tokens.</param>
    /// <param name="topK">Candidates per mask; with <paramref name="targets"/>, at most their number are returned.</param>
    /// <param name="targets">
    /// Only these tokens are ranked (<see cref="FillMaskTargets.Resolve"/>); their scores are still the softmax over the whole
    /// vocabulary. Null ranks the whole vocabulary.
    /// </param>
    /// <exception cref="BertSharpException">
    /// <paramref name="topK"/> is below 1, or above the vocabulary size without <paramref name="targets"/>; or the text has no mask or is too long.
    /// </exception>
    public IReadOnlyList<IReadOnlyList<FillMaskPrediction>> Predict(string text, int topK = 5, FillMaskTargets? targets = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = Tokenizer.EncodeIds(text);
        return PredictIds(ids, topK, targets);
    }

    /// <summary>As <see cref="Predict"/> for already encoded ids (<c>[CLS] … [SEP]</c>, shape [sequence]).</summary>
    public IReadOnlyList<IReadOnlyList<FillMaskPrediction>> PredictIds(int[] ids, int topK = 5, FillMaskTargets? targets = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var masks = Check(ids, topK, "the text", targets);
        return Run(() =>
        {
            var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]).to(Device);
            var positions = tensor(masks.Select(p => (long)p).ToArray()).to(Device);
            return Decode(ids, masks, Model.LogitsAt(new BertInput(input), positions), topK, TargetIds(targets));
        });
    }

    /// <summary>
    /// <see cref="Predict"/> for many texts, run in padded batches of similar lengths (one forward pass per batch instead of
    /// one per text); results are in input order and equal <see cref="Predict"/>'s for each text.
    /// </summary>
    /// <param name="texts">Texts with at least one <c>[MASK]</c> each.</param>
    /// <param name="topK">Candidates per mask; with <paramref name="targets"/>, at most their number are returned.</param>
    /// <param name="batchSize">Texts per forward pass.</param>
    /// <param name="targets">The tokens ranked for every text, as in <see cref="Predict"/>; null ranks the whole vocabulary.</param>
    public IReadOnlyList<IReadOnlyList<IReadOnlyList<FillMaskPrediction>>> PredictBatch(IReadOnlyList<string> texts, int topK = 5, int batchSize = 32,
        FillMaskTargets? targets = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encodings = texts.Select(t => Tokenizer.Encode(t ?? throw new ArgumentException("texts must not contain null.", nameof(texts)))).ToArray();
        var masks = encodings.Select((e, i) => Check(e.Ids, topK, texts.Count == 1 ? "the text" : Invariant($"text {i}"), targets)).ToArray();
        var result = new IReadOnlyList<IReadOnlyList<FillMaskPrediction>>[texts.Count];
        foreach (var batch in Batching.PlanByLength([.. encodings.Select(e => e.Length)], batchSize))
        {
            var rows = Run(() =>
            {
                var input = Batching.Pad([.. batch.Select(i => encodings[i])], Tokenizer.PadId, Device);
                var width = input.InputIds.shape[1];
                var positions = tensor(batch.SelectMany((index, r) => masks[index].Select(p => (r * width) + p)).ToArray()).to(Device);
                // Padding only adds key positions that the attention mask hides, so each row's logits are its own.
                var logits = Model.LogitsAt(input, positions);
                var targetIds = TargetIds(targets);
                var first = 0;
                return batch.Select(index =>
                {
                    var maskRows = logits.narrow(0, first, masks[index].Length);
                    first += masks[index].Length;
                    return Decode(encodings[index].Ids, masks[index], maskRows, topK, targetIds);
                }).ToArray();
            });
            for (var r = 0; r < batch.Length; r++)
            {
                result[batch[r]] = rows[r];
            }
        }
        return result;
    }

    private int[] Check(int[] ids, int topK, string what, FillMaskTargets? targets)
    {
        if (targets is not null)
        {
            if (targets.TokenIds.Count == 0)
            {
                throw new BertSharpException($"{BertSharpException.Field("targets")}: expected at least one token id when given.");
            }
            // Ids of another vocabulary would index past this model's logits, or score the wrong tokens.
            foreach (var id in targets.TokenIds)
            {
                if ((uint)id >= (uint)Model.Config.VocabSize)
                {
                    throw new BertSharpException(Invariant($"{BertSharpException.Field("targets")} token id {id}: expected an id of the model's vocabulary (0-{Model.Config.VocabSize - 1})."));
                }
            }
        }
        if (topK < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("top_k")} {topK}: expected at least 1."));
        }
        // It was cut to the vocabulary silently: fewer candidates than asked for, with nothing to say why. With targets HF
        // caps it instead ("if top_k > target_ids.shape[0]: top_k = target_ids.shape[0]"), and so does Decode: all of them.
        if (targets is null && topK > Model.Config.VocabSize)
        {
            throw new BertSharpException(Invariant(
                $"{BertSharpException.Field("top_k")} {topK}: expected at most the vocabulary size ({Model.Config.VocabSize}) without {BertSharpException.Field("targets")}."));
        }
        var maskPositions = Enumerable.Range(0, ids.Length).Where(i => ids[i] == Tokenizer.MaskId).ToArray();
        if (maskPositions.Length == 0)
        {
            throw new BertSharpException($"{what} has no {Tokenizer.Vocab[Tokenizer.MaskId]} token to fill.");
        }
        if (ids.Length > Model.Config.MaxPositionEmbeddings)
        {
            throw new BertSharpException(Invariant($"{what} is {ids.Length} tokens long; the model takes at most {Model.Config.MaxPositionEmbeddings}."));
        }
        return maskPositions;
    }

    // Within Run's dispose scope: [targets] on the model's device, or null for the whole vocabulary.
    private Tensor? TargetIds(FillMaskTargets? targets) =>
        targets is null ? null : tensor(targets.TokenIds.Select(i => (long)i).ToArray()).to(Device);

    // maskLogits: [masks, vocab], row m the logits at maskPositions[m]; targetIds: [targets] or null.
    private List<IReadOnlyList<FillMaskPrediction>> Decode(int[] ids, int[] maskPositions, Tensor maskLogits, int topK, Tensor? targetIds)
    {
        var result = new List<IReadOnlyList<FillMaskPrediction>>();
        // Inside a MixedPrecision.Bf16 scope the logits are bf16: the softmax runs in float32, as autocast's would, and the
        // scores are read as floats.
        maskLogits = MixedPrecision.Float32(maskLogits);
        // As HF: top_k beyond the targets gives all of them.
        var count = targetIds is null ? topK : (int)Math.Min(topK, targetIds.shape[0]);
        for (var m = 0; m < maskPositions.Length; m++)
        {
            var pos = maskPositions[m];
            // The softmax is over the whole vocabulary before the targets' entries are picked, as HF scores them.
            var probs = maskLogits[m].softmax(-1);
            if (targetIds is not null)
            {
                probs = probs.index_select(0, targetIds);
            }
            var (values, indices) = probs.topk(count);
            var scores = values.cpu().data<float>().ToArray();
            NonFiniteOutputException.ThrowIfNotFinite(scores, "masked-token scores");
            var tokens = (targetIds is null ? indices : targetIds.index_select(0, indices)).cpu().data<long>().ToArray();
            var list = new List<FillMaskPrediction>(count);
            for (var k = 0; k < tokens.Length; k++)
            {
                var filled = (int[])ids.Clone();
                filled[pos] = (int)tokens[k];
                // As HF: with one mask the sequence drops special tokens, with several it keeps them (the other masks stay visible).
                // HF drops padding ids before decoding, which shows with several masks: a [PAD] candidate is not printed.
                var sequence = Tokenizer.Decode(filled.Where(id => id != Tokenizer.PadId), skipSpecialTokens: maskPositions.Length == 1);
                list.Add(new FillMaskPrediction((int)tokens[k], Tokenizer.Vocab[(int)tokens[k]], scores[k], sequence));
            }
            result.Add(list);
        }
        return result;
    }
}
