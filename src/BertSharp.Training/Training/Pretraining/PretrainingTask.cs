using BertSharp.Data.Pretraining;
using BertSharp.Distributed;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// Pre-training's task adapter: a collated MLM + NSP batch through <see cref="BertForPreTraining"/> (the MLM head only at the
/// masked positions) gives HF's loss (masked-LM cross-entropy + next-sentence cross-entropy); the step reports that loss, each
/// part, and the accuracy of both heads. In a data-parallel run each rank holds a slice of every micro-batch: one
/// all-reduce of its instance and masked-token counts gives the micro-batch's totals, and the rank returns
/// MLM mean × its masked tokens / all masked tokens + NSP mean × its instances / all instances, so the ranks' shares add
/// up to the loss of the whole micro-batch (the masked-LM mean is over tokens, not examples); the metrics are summed across
/// the ranks at the end of the step.
/// </summary>
/// <param name="model">The model being trained.</param>
/// <param name="communicator">The data-parallel group; one process when null.</param>
/// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, stream position) (<see cref="ExampleDropout"/>).</param>
public sealed class PretrainingTask(BertForPreTraining model, ICommunicator? communicator = null, long? exampleDropoutSeed = null)
    : ITrainingTask<PretrainingBatch>
{
    private readonly ICommunicator _comm = communicator ?? new LocalCommunicator();
    private double _loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect;
    private long _instances, _tokens;

    /// <summary>Real (non-padding) tokens of the last step (over all ranks).</summary>
    public long LastTokens { get; private set; }

    public Tensor? Loss(PretrainingBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var single = _comm.WorldSize == 1;
        var totals = DataParallelRun.Sum(_comm, batch.Count, batch.MaskedTokens);
        if (batch.Count == 0)
        {
            return null;
        }
        using var dropout = exampleDropoutSeed is { } seed ? ExampleDropout.Use(seed, micro.Step, batch.Positions) : null;
        var o = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels, batch.NextSentenceLabels,
            logitsAtLabelledPositionsOnly: true);
        // This slice's shares of the micro-batch's two means (1 and 1 in one process).
        var nspShare = batch.Count / totals[0];
        var mlmShare = totals[1] > 0 ? batch.MaskedTokens / totals[1] : 0;
        using (torch.no_grad())
        {
            var m = Metrics(o, batch);
            var mlm = batch.MaskedTokens > 0 ? m[1] * mlmShare : 0.0;
            var nsp = m[2] * nspShare;
            if (single)
            {
                _loss += m[0] / micro.Count;
                _mlmLoss += m[1] / micro.Count;
                _nspLoss += m[2] / micro.Count;
            }
            else
            {
                _loss += (mlm + nsp) / micro.Count;
                _mlmLoss += mlm / micro.Count;
                _nspLoss += nsp / micro.Count;
            }
            _mlmCorrect += m[3];
            _mlmCount += m[4];
            _nspCorrect += m[5];
        }
        _instances += batch.Count;
        _tokens += batch.Tokens;
        if (single)
        {
            return o.Loss!;
        }
        // A slice without masked tokens has a NaN masked-LM mean (0 / 0); its share is 0.
        return batch.MaskedTokens > 0 ? (o.MlmLoss! * mlmShare) + (o.NspLoss! * nspShare) : o.NspLoss! * nspShare;
    }

    public StepMetrics EndStep()
    {
        var all = DataParallelRun.Sum(_comm, _loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect, _instances, _tokens);
        (_loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect) = (all[0], all[1], all[2], all[3], all[4], all[5]);
        (_instances, _tokens) = ((long)all[6], (long)all[7]);
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
