using BertSharp.Checkpoints;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// The pre-training forward pass that runs the MLM head at labelled positions only (google's gather_indexes) must give HF's
/// losses and logits and the same gradients as the full head, since pre-training uses it for every step.
/// </summary>
public sealed class SparseMlmHeadTests
{
    [Fact]
    public void Labelled_positions_only_matches_hf_losses_logits_and_the_full_heads_gradients()
    {
        var refs = HfFixture.Tensors("pretraining");
        using var model = BertPretrained.Load<BertForPreTraining>(HfFixture.Dir("pretraining"));
        model.eval();
        try
        {
            var input = new BertInput(refs["loss.in.input_ids"], refs["loss.in.attention_mask"], refs["loss.in.token_type_ids"]);
            var labels = refs["loss.in.labels"];
            var nsl = refs["loss.in.next_sentence_label"];
            var labelled = labels.ne(StableScalars.Of(Losses.IgnoreIndex));
            var count = labelled.sum().item<long>();
            Assert.InRange(count, 1, labels.numel() - 1);

            var sparse = model.Forward(input, labels, nsl, logitsAtLabelledPositionsOnly: true);
            Assert.Equal([count, model.Config.VocabSize], sparse.PredictionLogits.shape);
            HfFixture.AssertClose(refs["loss.out.mlm_loss"].reshape([]), sparse.MlmLoss!, 1e-5, "mlm_loss");
            HfFixture.AssertClose(refs["loss.out.nsp_loss"].reshape([]), sparse.NspLoss!, 1e-5, "nsp_loss");
            HfFixture.AssertClose(refs["loss.out.loss"].reshape([]), sparse.Loss!, 1e-5, "loss");
            sparse.Loss!.backward();
            var sparseGrads = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param.grad!.clone());
            model.zero_grad();

            var dense = model.Forward(input, labels, nsl);
            var denseAtLabelled = dense.PredictionLogits.reshape(-1, model.Config.VocabSize).index_select(0, labelled.reshape(-1).nonzero().squeeze(-1));
            HfFixture.AssertClose(denseAtLabelled, sparse.PredictionLogits, 1e-6, "prediction_logits at labelled positions");
            dense.Loss!.backward();
            foreach (var (name, param) in model.NamedParameters())
            {
                HfFixture.AssertClose(param.grad!, sparseGrads[name], 1e-6, "grad " + name);
            }
            // The gradient reaches the decoder bias only at labelled tokens' rows, and it is not all zero.
            Assert.True(sparseGrads["cls.predictions.bias"].abs().sum().item<float>() > 0);
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    // MaskedLMOutput.Logits is documented as [batch, seq, vocab], or [labelled positions, vocab] in row-major order when the
    // head ran at labelled positions only; without labels the flag has nothing to select and the logits stay dense.
    [Fact]
    public void Masked_lm_logits_at_labelled_positions_only_are_one_row_per_label_in_row_major_order()
    {
        using var model = BertPretrained.Create<BertForMaskedLM>(HfTrainStepTests.TinyConfig());
        model.eval();
        using var ids = tensor(new long[,] { { 2, 5, 6, 7, 3 }, { 2, 8, 9, 10, 3 } });
        using var labels = tensor(new long[,] { { -100, 5, -100, -100, -100 }, { -100, -100, 9, 10, -100 } });
        var input = new BertInput(ids);
        var sparse = model.Forward(input, labels, logitsAtLabelledPositionsOnly: true);
        Assert.Equal([3L, 64L], sparse.Logits.shape);
        var dense = model.Forward(input, labels);
        Assert.Equal([2L, 5L, 64L], dense.Logits.shape);
        // Rows of the sparse logits: (0, 1), (1, 2), (1, 3).
        HfFixture.AssertClose(dense.Logits[0, 1], sparse.Logits[0], 1e-6, "row (0, 1)");
        HfFixture.AssertClose(dense.Logits[1, 2], sparse.Logits[1], 1e-6, "row (1, 2)");
        HfFixture.AssertClose(dense.Logits[1, 3], sparse.Logits[2], 1e-6, "row (1, 3)");
        var unlabelled = model.Forward(input, logitsAtLabelledPositionsOnly: true);
        Assert.Equal([2L, 5L, 64L], unlabelled.Logits.shape);
    }
}
