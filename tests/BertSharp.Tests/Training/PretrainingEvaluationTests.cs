using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Training.Pretraining;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// The held-out evaluation against HF's Trainer: <c>eval_loss</c> is the mean of each evaluation batch's loss weighted by the
/// batch's examples (evaluation_loop repeats it eval_batch_size times, gather_for_metrics cuts the last batch's repeats to its
/// size), not the mean over every masked token. The models predict from their biases alone (word embeddings, hence the tied
/// decoder, and the NSP classifier's weight zeroed), so every token's and instance's loss is a closed form worked out here.
/// </summary>
public class PretrainingEvaluationTests
{
    private const int Cls = 2, Sep = 3, A = 10, Other = 20;

    // Bias ln 1000 on A, 0 on the 63 other ids of the tiny vocabulary: log-sum-exp = ln 1063, so -log p(A) = ln 1.063, any
    // other ln 1063 (far apart, so that the weightings below differ by tenths).
    private static readonly double LossA = Math.Log(1.063), LossOther = Math.Log(1063);

    // NSP bias [0, ln 3]: p(is next) = 1/4, p(random next) = 3/4.
    private static readonly double NspIsNext = Math.Log(4), NspRandom = Math.Log(4.0 / 3);

    /// <summary>[CLS] 5 6 7 8 [SEP] 9 11 [SEP] with <paramref name="labels"/> at positions 1, 2, ... (the input keeps [MASK]-free ids).</summary>
    private static PretrainingInstance Instance(bool randomNext, params int[] labels)
    {
        int[] ids = [Cls, 5, 6, 7, 8, Sep, 9, 11, Sep];
        return new PretrainingInstance(ids, 6, randomNext, [.. Enumerable.Range(1, labels.Length)], labels);
    }

    // Batches of 2: the first holds 2 instances and 4 masked tokens (1 of them A), the second 1 instance and 1 masked token, so
    // weighting by instances, by masked tokens and by batches give three different numbers.
    private static readonly PretrainingInstance[] HeldOut = [Instance(false, A), Instance(true, Other, Other, Other), Instance(false, Other)];

    private static T BiasOnly<T>(bool nsp) where T : BertPreTrainedModel
    {
        var model = BertPretrained.Create<T>(HfTrainStepTests.TinyConfig());
        using var _ = no_grad();
        var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        p["bert.embeddings.word_embeddings.weight"].zero_();
        var bias = new float[64];
        bias[A] = (float)Math.Log(1000);
        p["cls.predictions.bias"].copy_(tensor(bias));
        if (nsp)
        {
            p["cls.seq_relationship.weight"].zero_();
            p["cls.seq_relationship.bias"].copy_(tensor(new[] { 0f, (float)Math.Log(3) }));
        }
        return model;
    }

    [Fact]
    public void Mlm_and_nsp_eval_loss_is_hfs_mean_of_batch_losses_weighted_by_their_instances()
    {
        using var model = BiasOnly<BertForPreTraining>(nsp: true);
        var m = PretrainingTask.Evaluate(model, HeldOut, 2, 0, CPU);

        // Batch 1: MLM (ln 1.063 + 3 ln 1063) / 4, NSP (ln 4 + ln 4/3) / 2; batch 2: MLM ln 1063, NSP ln 4; weights 2 and 1.
        var mlm = ((2 * (LossA + (3 * LossOther)) / 4) + LossOther) / 3;
        var nsp = ((2 * (NspIsNext + NspRandom) / 2) + NspIsNext) / 3;
        // The per-token mean (ln 1.063 + 4 ln 1063) / 5 and the unweighted mean of batch means are other numbers.
        Assert.True(Math.Abs(mlm - ((LossA + (4 * LossOther)) / 5)) > 0.2 && Math.Abs(mlm - ((((LossA + (3 * LossOther)) / 4) + LossOther) / 2)) > 0.2);
        Assert.Equal(mlm, m["masked_lm_loss"], 1e-5);
        Assert.Equal(nsp, m["next_sentence_loss"], 1e-5);
        Assert.Equal(mlm + nsp, m["loss"], 1e-5);
        // Accuracies count every masked token and instance: the bias predicts A (1 of 5 tokens) and "random next" (1 of 3).
        Assert.Equal(0.2, m["masked_lm_accuracy"], 1e-12);
        Assert.Equal(1.0 / 3, m["next_sentence_accuracy"], 1e-12);
        Assert.Equal(5, m.Count);
    }

    [Fact]
    public void Masked_lm_eval_loss_is_run_mlms_and_its_perplexity_the_exponential()
    {
        using var model = BiasOnly<BertForMaskedLM>(nsp: false);
        // Batches of 1: every instance is its own batch, so eval_loss is the mean of the three instances' means.
        var m = PretrainingTask.Evaluate(model, HeldOut, 1, 0, CPU);
        var mlm = (LossA + ((3 * LossOther) / 3) + LossOther) / 3;
        Assert.Equal(mlm, m["loss"], 1e-5);
        Assert.Equal(mlm, m["masked_lm_loss"], 1e-5);
        Assert.Equal(["loss", "masked_lm_accuracy", "masked_lm_loss"], m.Keys.Order());

        // run_mlm.py: perplexity = math.exp(metrics["eval_loss"]) = (1.063 · 1063 · 1063)^(1/3).
        var entry = new PretrainingLogEntry { Type = "eval", MaskedLmLoss = m["masked_lm_loss"] };
        Assert.Equal(Math.Cbrt(1.063 * 1063 * 1063), entry.Perplexity, 1e-3);
    }
}
