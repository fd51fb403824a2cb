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
}
