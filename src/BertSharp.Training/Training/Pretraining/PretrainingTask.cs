using BertSharp.Data.Pretraining;
using BertSharp.Distributed;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// Pre-training's task adapter: a collated batch through <see cref="BertForPreTraining"/> (MLM + NSP) or
/// <see cref="BertForMaskedLM"/> (MLM only), the MLM head only at the masked positions, gives HF's loss (masked-LM
/// cross-entropy, plus next-sentence cross-entropy with the NSP head); the step reports that loss, each part, and the
/// accuracy of the heads. As google's loss over its batch, the masked-LM loss of a step is one mean over the masked tokens of
/// all its micro-batches (<c>--grad-accum</c>) and all ranks' slices, the NSP loss one mean over its instances: each
/// micro-batch or slice returns MLM mean × its masked tokens / the step's (+ NSP mean × its instances / the step's), times
/// the micro-batches the trainer divides by, from the step's totals its batch carries
/// (<see cref="PretrainingBatch.StepMaskedTokens"/>); the metrics are summed across the ranks at the end of the step.
/// </summary>
public sealed class PretrainingTask : ITrainingTask<PretrainingBatch>
{
    private readonly BertPreTrainedModel _model;
    private readonly bool _nsp;
    private readonly long? _exampleDropoutSeed;
    private readonly ICommunicator _comm;

    /// <param name="model">The model being trained: <see cref="BertForPreTraining"/> (MLM + NSP) or <see cref="BertForMaskedLM"/> (MLM).</param>
    /// <param name="communicator">The data-parallel group; one process when null.</param>
    /// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, stream position) (<see cref="ExampleDropout"/>).</param>
    public PretrainingTask(BertPreTrainedModel model, ICommunicator? communicator = null, long? exampleDropoutSeed = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _nsp = HasNextSentenceHead(model);
        _exampleDropoutSeed = exampleDropoutSeed;
        _comm = communicator ?? new LocalCommunicator();
    }

    /// <summary>True for <see cref="BertForPreTraining"/>, false for <see cref="BertForMaskedLM"/>; other heads are an error.</summary>
    private static bool HasNextSentenceHead(BertPreTrainedModel model) => model switch
    {
        BertForPreTraining => true,
        BertForMaskedLM => false,
        _ => throw new ArgumentException($"pre-training trains BertForPreTraining or BertForMaskedLM, not {model.GetType().Name}.", nameof(model)),
    };

    private double _loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect;
    private long _instances, _tokens;

    /// <summary>Real (non-padding) tokens of the last step (over all ranks).</summary>
    public long LastTokens { get; private set; }

    /// <inheritdoc/>
    public Tensor? Loss(PretrainingBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return null;
        }
        var n = micro.Count;
        // This micro-batch's (or rank's slice's) shares of the step's two means, times n because the trainer divides every
        // micro-batch's loss by n: google's masked-LM loss is one mean over the masked tokens of the step's whole batch, so a
        // micro-batch with more masked tokens weighs more; the NSP loss is one mean over its instances.
        var stepMasked = batch.StepMaskedTokens > 0 ? batch.StepMaskedTokens : (double)batch.MaskedTokens * n;
        var stepInstances = batch.StepInstances > 0 ? batch.StepInstances : (double)batch.Count * n;
        var mlmShare = stepMasked > 0 ? batch.MaskedTokens / stepMasked * n : 0;
        var nspShare = _nsp ? batch.Count / stepInstances * n : 0;
        using var dropout = _exampleDropoutSeed is { } seed ? ExampleDropout.Use(seed, micro.Step, batch.Positions) : null;
        var o = Forward(_model, batch);
        // The whole step in one micro-batch of one process: the model's own loss, bitwise.
        var whole = mlmShare == 1 && (!_nsp || nspShare == 1);
        using (torch.no_grad())
        {
            var m = Metrics(o, batch);
            var mlm = batch.MaskedTokens > 0 ? m[1] * mlmShare : 0.0;
            var nsp = m[2] * nspShare;
            _loss += (whole ? m[0] : mlm + nsp) / n;
            _mlmLoss += mlm / n;
            _nspLoss += nsp / n;
            _mlmCorrect += m[3];
            _mlmCount += m[4];
            _nspCorrect += m[5];
        }
        _instances += batch.Count;
        _tokens += batch.Tokens;
        if (whole)
        {
            return o.Loss;
        }
        // A slice without masked tokens has a NaN masked-LM mean (0 / 0); its share is 0. Explicit Scalars that outlive the
        // calls: an implicit one can be freed by the GC during them (StableScalars).
        using var mlmScalar = mlmShare.ToScalar();
        using var nspScalar = nspShare.ToScalar();
        if (o.NspLoss is null)
        {
            return batch.MaskedTokens > 0 ? o.MlmLoss.mul(mlmScalar) : null;
        }
        return batch.MaskedTokens > 0 ? StableScalars.Add(o.MlmLoss.mul(mlmScalar), o.NspLoss.mul(nspScalar)) : o.NspLoss.mul(nspScalar);
    }

    /// <inheritdoc/>
    public StepMetrics EndStep()
    {
        var all = DataParallelRun.Sum(_comm, _loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect, _instances, _tokens);
        (_loss, _mlmLoss, _nspLoss, _mlmCorrect, _mlmCount, _nspCorrect) = (all[0], all[1], all[2], all[3], all[4], all[5]);
        (_instances, _tokens) = ((long)all[6], (long)all[7]);
        var metrics = new Dictionary<string, double>
        {
            ["masked_lm_loss"] = _mlmLoss,
            ["masked_lm_accuracy"] = _mlmCount == 0 ? 0 : _mlmCorrect / _mlmCount,
        };
        if (_nsp)
        {
            metrics["next_sentence_loss"] = _nspLoss;
            metrics["next_sentence_accuracy"] = _instances == 0 ? 0 : _nspCorrect / _instances;
        }
        var result = new StepMetrics(_loss, metrics);
        LastTokens = _tokens;
        _loss = _mlmLoss = _nspLoss = _mlmCorrect = _mlmCount = _nspCorrect = 0;
        _instances = _tokens = 0;
        return result;
    }

    /// <summary>
    /// The held-out losses as HF's Trainer reports <c>eval_loss</c> (what run_mlm.py and its perplexity take): each batch's
    /// mean loss (masked-LM mean over the batch's masked tokens, plus the next-sentence mean over its instances with an NSP
    /// head) weighted by the batch's instances, so <c>loss</c> = Σ n_b · loss_b / Σ n_b and <c>masked_lm_loss</c>,
    /// <c>next_sentence_loss</c> are its parts; the accuracies are over every masked token and every instance, as
    /// run_mlm.py's <c>compute_metrics</c> counts them.
    /// </summary>
    /// <param name="model">A <see cref="BertForPreTraining"/> or <see cref="BertForMaskedLM"/>; left in training mode.</param>
    /// <param name="instances">The held-out instances, evaluated in order in batches of <paramref name="batchSize"/> (the last may be smaller).</param>
    /// <param name="batchSize">Instances per batch (HF's <c>per_device_eval_batch_size</c>).</param>
    /// <param name="padId">The vocabulary's padding id.</param>
    /// <param name="device">Where the batches run.</param>
    public static Dictionary<string, double> Evaluate(BertPreTrainedModel model, IReadOnlyList<PretrainingInstance> instances, int batchSize, int padId,
        Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(instances);
        var withNsp = HasNextSentenceHead(model);
        model.eval();
        double mlmLoss = 0, nspLoss = 0, mlmCorrect = 0, mlmCount = 0, nspCorrect = 0;
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var chunk in instances.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                var batch = PretrainingBatch.Collate(chunk, padId, device);
                var m = Metrics(Forward(model, batch), batch);
                // HF's evaluation_loop repeats each batch's mean loss eval_batch_size times and accelerate's gather_for_metrics
                // cuts the last batch's repeats to its real size: a batch weighs by its instances, not by its masked tokens.
                mlmLoss += m[1] * chunk.Length;
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
        var mlm = mlmLoss / instances.Count;
        var nsp = nspLoss / instances.Count;
        var result = new Dictionary<string, double>
        {
            ["loss"] = withNsp ? mlm + nsp : mlm,
            ["masked_lm_loss"] = mlm,
            ["masked_lm_accuracy"] = mlmCount == 0 ? 0 : mlmCorrect / mlmCount,
        };
        if (withNsp)
        {
            result["next_sentence_loss"] = nsp;
            result["next_sentence_accuracy"] = nspCorrect / instances.Count;
        }
        return result;
    }

    /// <summary>One forward pass's tensors: the loss, its parts (NSP null without that head) and the logits at the masked positions.</summary>
    private sealed record Output(Tensor Loss, Tensor MlmLoss, Tensor? NspLoss, Tensor MaskedLogits, Tensor? NspLogits);

    private static Output Forward(BertPreTrainedModel model, PretrainingBatch batch)
    {
        var input = new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds);
        if (model is BertForMaskedLM mlm)
        {
            var m = mlm.Forward(input, batch.Labels, logitsAtLabelledPositionsOnly: true);
            return new Output(m.Loss!, m.Loss!, null, m.Logits, null);
        }
        var o = ((BertForPreTraining)model).Forward(input, batch.Labels, batch.NextSentenceLabels, logitsAtLabelledPositionsOnly: true);
        return new Output(o.Loss!, o.MlmLoss!, o.NspLoss!, o.PredictionLogits, o.SeqRelationshipLogits);
    }

    /// <summary>Loss, MLM loss, NSP loss, MLM correct, MLM count, NSP correct of one forward pass (one host sync).</summary>
    private static float[] Metrics(Output o, PretrainingBatch batch)
    {
        var maskedPositions = batch.Labels.ne(StableScalars.Of(Losses.IgnoreIndex));
        // The logits cover only the labelled positions, in row-major order (masked_select's order too).
        var mlmCorrect = o.MaskedLogits.argmax(-1).eq(batch.Labels.masked_select(maskedPositions)).sum();
        var nspCorrect = o.NspLogits is null ? zeros(1).sum() : o.NspLogits.argmax(-1).eq(batch.NextSentenceLabels).sum();
        var nspLoss = o.NspLoss is null ? zeros(1).sum() : o.NspLoss.detach();
        using var all = stack([o.Loss.detach(), o.MlmLoss.detach(), nspLoss,
            mlmCorrect.to_type(ScalarType.Float32), maskedPositions.sum().to_type(ScalarType.Float32), nspCorrect.to_type(ScalarType.Float32)]).cpu();
        return all.data<float>().ToArray();
    }
}
