using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// Pre-training's task adapter: a collated MLM + NSP batch through <see cref="BertForPreTraining"/> (the MLM head only at the
/// masked positions) gives HF's loss (masked-LM cross-entropy + next-sentence cross-entropy); the step reports that loss, each
/// part, and the accuracy of both heads.
/// </summary>
public sealed class PretrainingTask(BertForPreTraining model) : ITrainingTask<PretrainingBatch>
{
    private double _loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect;
    private long _instances, _tokens;

    /// <summary>Real (non-padding) tokens of the last step.</summary>
    public long LastTokens { get; private set; }

    public Tensor Loss(PretrainingBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var o = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels, batch.NextSentenceLabels,
            logitsAtLabelledPositionsOnly: true);
        using (torch.no_grad())
        {
            var m = Metrics(o, batch);
            _loss += m[0] / micro.Count;
            _mlmLoss += m[1] / micro.Count;
            _nspLoss += m[2] / micro.Count;
            _mlmCorrect += m[3];
            _mlmCount += m[4];
            _nspCorrect += m[5];
        }
        _instances += batch.NextSentenceLabels.shape[0];
        _tokens += batch.Tokens;
        return o.Loss!;
    }

    public StepMetrics EndStep()
    {
        var metrics = new Dictionary<string, double>
        {
            ["masked_lm_loss"] = _mlmLoss,
            ["masked_lm_accuracy"] = _mlmCount == 0 ? 0 : _mlmCorrect / _mlmCount,
            ["next_sentence_loss"] = _nspLoss,
            ["next_sentence_accuracy"] = _instances == 0 ? 0 : _nspCorrect / _instances,
        };
        var result = new StepMetrics(_loss, metrics);
        LastTokens = _tokens;
        _loss = _mlmLoss = _nspLoss = _mlmCorrect = _mlmCount = _nspCorrect = 0;
        _instances = _tokens = 0;
        return result;
    }

    /// <summary>The held-out loss and accuracies: token-weighted MLM loss, instance-weighted NSP loss, over every instance.</summary>
    public static Dictionary<string, double> Evaluate(BertForPreTraining model, IReadOnlyList<PretrainingInstance> instances, int batchSize, int padId,
        Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(instances);
        model.eval();
        double mlmLoss = 0, nspLoss = 0, mlmCorrect = 0, mlmCount = 0, nspCorrect = 0;
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var chunk in instances.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                var batch = PretrainingBatch.Collate(chunk, padId, device);
                var o = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels, batch.NextSentenceLabels,
                    logitsAtLabelledPositionsOnly: true);
                var m = Metrics(o, batch);
                mlmLoss += m[1] * m[4];
                nspLoss += m[2] * chunk.Length;
                mlmCorrect += m[3];
                mlmCount += m[4];
                nspCorrect += m[5];
            }
        }
        finally
        {
            model.train();
        }
        var mlm = mlmCount == 0 ? 0 : mlmLoss / mlmCount;
        var nsp = nspLoss / instances.Count;
        return new Dictionary<string, double>
        {
            ["loss"] = mlm + nsp,
            ["masked_lm_loss"] = mlm,
            ["masked_lm_accuracy"] = mlmCount == 0 ? 0 : mlmCorrect / mlmCount,
            ["next_sentence_loss"] = nsp,
            ["next_sentence_accuracy"] = nspCorrect / instances.Count,
        };
    }

    /// <summary>Loss, MLM loss, NSP loss, MLM correct, MLM count, NSP correct of one forward pass (one host sync).</summary>
    private static float[] Metrics(BertForPreTrainingOutput o, PretrainingBatch batch)
    {
        var maskedPositions = batch.Labels.ne(Losses.IgnoreIndex);
        // The logits cover only the labelled positions, in row-major order (masked_select's order too).
        var mlmCorrect = o.PredictionLogits.argmax(-1).eq(batch.Labels.masked_select(maskedPositions)).sum();
        var nspCorrect = o.SeqRelationshipLogits.argmax(-1).eq(batch.NextSentenceLabels).sum();
        using var all = stack([o.Loss!.detach(), o.MlmLoss!.detach(), o.NspLoss!.detach(),
            mlmCorrect.to_type(ScalarType.Float32), maskedPositions.sum().to_type(ScalarType.Float32), nspCorrect.to_type(ScalarType.Float32)]).cpu();
        return all.data<float>().ToArray();
    }
}
