using BertSharp.Data.Pretraining;
using BertSharp.Distributed;
using BertSharp.Modeling;
using BertSharp.Tests.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using BertSharp.Training.Pretraining;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// Pre-training's step against google-research/bert's <c>run_pretraining.py</c> loss, each expected value worked out from
/// google's formula: the masked-LM loss is sum(w · loss) / sum(w) over the masked positions of the step's whole batch (so
/// --grad-accum micro-batches weigh by their masked tokens, as one batch of all of them would), the NSP loss the mean over the
/// step's instances, the total their sum; and the batch's segment ids are google's.
/// </summary>
public class PretrainingGoogleParityTests
{
    private const int Cls = 2, Sep = 3;

    /// <summary>[CLS] A [SEP] B [SEP] with the given positions masked (labels: the ids there, the input keeps them).</summary>
    private static PretrainingInstance Instance(int[] a, int[] b, bool randomNext, params int[] masked)
    {
        int[] ids = [Cls, .. a, Sep, .. b, Sep];
        return new PretrainingInstance(ids, a.Length + 2, randomNext, masked, [.. masked.Select(p => ids[p])]);
    }

    [Fact]
    public void Grad_accum_micro_batches_weigh_by_their_masked_tokens_as_googles_one_batch()
    {
        using var model = BertPretrained.Create<BertForPreTraining>(HfTrainStepTests.TinyConfig());
        // Micro-batch 1: 2 masked tokens in 2 instances; micro-batch 2: 6 in 2 (lengths differ, so both are padded).
        List<PretrainingInstance> first = [Instance([10, 11, 12], [13, 14], false, 2), Instance([20, 21], [22, 23, 24, 25], true, 5)];
        List<PretrainingInstance> second =
        [
            Instance([30, 31, 32, 33], [34, 35, 36], true, 1, 3, 6),
            Instance([40, 41], [42, 43, 44], false, 1, 4, 5),
        ];
        List<PretrainingInstance> all = [.. first, .. second];
        // HF's initialisation (std 0.02) predicts nearly uniformly, every token's loss about ln 64; larger word embeddings (the
        // decoder is tied to them) make the tokens' losses differ, so that the weighting shows.
        using (no_grad())
        {
            model.NamedParameters().Single(p => p.Name == "bert.embeddings.word_embeddings.weight").Param.mul_(StableScalars.Of(50.0));
        }

        // google's loss over the whole batch, by hand from the full logits (dropout is 0 in the tiny config): per masked
        // position -log softmax(logits)[label], then sum(w · loss) / sum(w) with w = 1 at each of the 8; NSP: the mean of
        // -log softmax over the 4 instances; total = MLM + NSP.
        double expectedMlm, expectedNsp, expectedNorm;
        using (NewDisposeScope())
        {
            var whole = PretrainingBatch.Collate(all, 0, CPU);
            var o = model.Forward(new BertInput(whole.InputIds, whole.AttentionMask, whole.TokenTypeIds));
            var logp = o.PredictionLogits.log_softmax(-1);
            var nspLogp = o.SeqRelationshipLogits.log_softmax(-1);
            var terms = new List<Tensor>();
            var r = 0;
            foreach (var x in all)
            {
                terms.AddRange(x.MaskedPositions.Select((p, k) => logp[r, p, x.MaskedLabels[k]].neg()));
                r++;
            }
            Assert.Equal(8, terms.Count);
            var mlm = stack(terms).sum().div(StableScalars.Of(8.0));
            var nsp = stack([.. all.Select((x, i) => nspLogp[i, x.IsRandomNext ? 1 : 0].neg())]).mean();
            expectedMlm = mlm.item<float>();
            expectedNsp = nsp.item<float>();
            StableScalars.Add(mlm, nsp).backward();
            var grads = model.parameters().Select(p => p.grad!.norm()).ToArray();
            expectedNorm = stack(grads).norm().item<float>();
            model.zero_grad();
        }
        // The mean of the two micro-batches' means (each masked token of the first counted three times as much) is another number.
        Assert.True(Math.Abs(expectedMlm - MeanOfMicroBatchMeans(model, first, second)) > 1e-3, "the case does not tell the two weightings apart");

        // The run's step: warm-up 1, so step 1 has learning rate 0 (the weights stay); a clip never reached reports the norm.
        using var trainer = new Trainer(model, new OptimizerSettings(1e-3, 1e-6, 0.01, 1e9, WarmupSteps: 1, TotalSteps: 10));
        Func<PretrainingBatch> Micro(List<PretrainingInstance> part) =>
            () => PretrainingBatch.Collate(part, 0, CPU) with { StepMaskedTokens = 8, StepInstances = 4 };
        var outcome = trainer.Step([Micro(first), Micro(second)], new PretrainingTask(model));

        // float32 sums in another order (two micro-batches, not one batch): a few ulps apart, so relative tolerances (4e-6 of
        // ~12.6 is 5e-5, still twenty times finer than the 1e-3 between the two weightings); the weights are random per run.
        Assert.Equal(expectedMlm, outcome.Task.Metrics["masked_lm_loss"], 4e-6 * expectedMlm);
        Assert.Equal(expectedNsp, outcome.Task.Metrics["next_sentence_loss"], 4e-6 * expectedNsp);
        Assert.Equal(expectedMlm + expectedNsp, outcome.Task.Loss, 4e-6 * (expectedMlm + expectedNsp));
        Assert.Equal(expectedNorm, outcome.GradNorm, 1e-4 * expectedNorm);
    }

    [Fact]
    public void Every_micro_batch_carries_the_masked_tokens_and_instances_of_its_whole_step_over_all_ranks()
    {
        using var tmp = TestPaths.TempDir();
        var docs = Enumerable.Range(0, 30).Select(d => $"Doc {d} starts here. It has a second sentence. And a third one about item {d}.").ToList();
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var tok = new ToyTokenizer(docs);
        var options = new PretrainingOptions { DupeFactor = 2, MaxSeqLength = 24, ShortSeqProb = 0.5 };
        new PretrainingDataBuilder(tok.Encode, tok.Tokens, "00ff") { Options = options }.Build([tmp.File("c.txt")], tmp.File("out"));
        var data = PretrainingDataset.Open(tmp.File("out"));
        var stored = data.Read().ToList();
        var masker = new MaskedLmMasker(new MaskingVocabulary(tok.Tokens), options);

        // --batch-size 3 --grad-accum 2 on 2 ranks: a step is 6 instances; each rank sees its slice of each micro-batch but
        // google's mean is over the masked tokens of all 6.
        var sliced = new long[2];
        for (var rank = 0; rank < 2; rank++)
        {
            var stream = new InstanceStream(data, stored.Count, 3, 2, masker, false, 1, CPU, rank, 2);
            for (var step = 0; step < 3; step++)
            {
                var instances = stored.Skip(step * 6).Take(6).ToList();
                var masked = instances.Sum(x => (long)x.MaskedPositions.Length);
                using var scope = NewDisposeScope();
                var batches = stream.MicroBatches(step + 1).Select(f => f()).ToList();
                Assert.All(batches, b => Assert.Equal((masked, 6L), (b.StepMaskedTokens, b.StepInstances)));
                Assert.Equal(DataSharding.Slice(3, rank, 2).Count * 2, batches.Sum(b => b.Count));
                if (step == 0)
                {
                    sliced[rank] = batches.Sum(b => b.MaskedTokens);
                }
            }
        }
        // The ranks' slices of step 1 add up to the step's masked tokens, which differ from one slice's.
        Assert.Equal(stored.Take(6).Sum(x => (long)x.MaskedPositions.Length), sliced.Sum());
        Assert.All(sliced, n => Assert.InRange(n, 1, sliced.Sum() - 1));
    }

    [Fact]
    public void Segment_ids_are_googles_zero_for_cls_a_sep_and_padding_one_for_b_sep()
    {
        using var scope = NewDisposeScope();
        var b = PretrainingBatch.Collate([Instance([10, 11], [12], false, 1), Instance([20], [21, 22, 23, 24], true, 2)], 0, CPU);
        // google's create_instances_from_document: segment_ids 0 for [CLS], A and its [SEP], 1 for B and the last [SEP];
        // convert_instances_to_tf_example pads segment_ids (and input_mask) with 0.
        Assert.Equal([0L, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], b.TokenTypeIds.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], b.AttentionMask.data<long>().ToArray());
        Assert.Equal([0L, 1], b.NextSentenceLabels.data<long>().ToArray());
    }

    [Fact]
    public void Defaults_are_googles()
    {
        // create_pretraining_data.py's flags: max_seq_length 128, max_predictions_per_seq 20, masked_lm_prob 0.15,
        // dupe_factor 10, short_seq_prob 0.1, do_whole_word_mask False.
        var data = new PretrainingOptions();
        Assert.Equal((128, 20, 0.15, 10, 0.1, false), (data.MaxSeqLength, data.MaxPredictionsPerSeq, data.MaskedLmProb, data.DupeFactor, data.ShortSeqProb, data.WholeWordMask));
        // optimization.py: AdamWeightDecayOptimizer(weight_decay_rate 0.01, epsilon 1e-6), clip_by_global_norm(clip_norm 1.0);
        // the paper's pre-training rate 1e-4 with warm-up over the first 10,000 of 1,000,000 steps (run_pretraining.py's flags:
        // 10,000 of 100,000, the 10 % BertSharp takes when --warmup-steps is not given).
        var run = new PretrainingTrainerOptions { Steps = 100_000 };
        Assert.Equal((1e-4, 0.01, 1e-6, 1.0, 10_000L), (run.LearningRate, run.WeightDecay, run.Eps, run.MaxGradNorm, run.EffectiveWarmupSteps));
    }

    /// <summary>HF Trainer's weighting before token counts (each micro-batch's own mean, averaged): the number the fix moves away from.</summary>
    private static double MeanOfMicroBatchMeans(BertForPreTraining model, params List<PretrainingInstance>[] parts)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return parts.Average(p =>
        {
            var b = PretrainingBatch.Collate(p, 0, CPU);
            return (double)model.Forward(new BertInput(b.InputIds, b.AttentionMask, b.TokenTypeIds), b.Labels, b.NextSentenceLabels).MlmLoss!.item<float>();
        });
    }
}
