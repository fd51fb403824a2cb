using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// Inputs of the wrong shape that libtorch used to reject in its own words, naming no input ("The size of tensor a (5) must
/// match the size of tensor b (4)", "cannot reshape tensor of 0 elements"): each is refused naming the input, the shape
/// given and the shape expected. TinyConfig: 3 labels, max_position_embeddings 32.
/// </summary>
public sealed class InputShapeMisuseTests
{
    [Fact]
    public void Position_ids_that_do_not_broadcast_over_input_ids_are_refused_and_those_that_do_give_the_default_positions()
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[,] { { 1, 5, 6, 7, 2 }, { 1, 9, 8, 2, 0 } });
        Assert.Equal("position_ids: shape [2, 4] does not fit input_ids [2, 5]; expected [batch, seq], [1, seq] or [seq].",
            Assert.Throws<BertSharpException>(() => model.Forward(new BertInput(ids, PositionIds: zeros(2, 4, dtype: ScalarType.Int64)))).Message);
        Assert.Equal("position_ids: shape [3, 5] does not fit input_ids [2, 5]; expected [batch, seq], [1, seq] or [seq].",
            Assert.Throws<BertSharpException>(() => model.Forward(new BertInput(ids, PositionIds: zeros(3, 5, dtype: ScalarType.Int64)))).Message);
        // Every shape the check lets through is HF's broadcast of 0..seq-1, and gives exactly the default positions' output.
        var expected = model.Forward(ids).LastHiddenState.data<float>().ToArray();
        var range = StableScalars.Range(5, ScalarType.Int64, ids.device);
        foreach (var positions in new[] { range, range.unsqueeze(0), range.unsqueeze(0).expand(2, 5) })
        {
            Assert.Equal(expected, model.Forward(new BertInput(ids, PositionIds: positions)).LastHiddenState.data<float>().ToArray());
        }
    }

    [Fact]
    public void A_multiple_choice_input_without_choices_or_tokens_is_refused_naming_input_ids()
    {
        using var mc = BertPretrained.Create<BertForMultipleChoice>(HfTrainStepTests.TinyConfig());
        using var scope = NewDisposeScope();
        Assert.Equal("multiple choice input_ids: shape [2, 0, 5] has no choices; expected at least one choice of at least one token.",
            Assert.Throws<BertSharpException>(() => mc.Forward(new BertInput(ones(2, 0, 5, dtype: ScalarType.Int64)))).Message);
        Assert.Equal("multiple choice input_ids: shape [2, 3, 0] has no tokens; expected at least one choice of at least one token.",
            Assert.Throws<BertSharpException>(() => mc.Forward(new BertInput(ones(2, 3, 0, dtype: ScalarType.Int64)))).Message);
        Assert.Equal([2L, 1L], mc.Forward(new BertInput(ones(2, 1, 5, dtype: ScalarType.Int64))).Logits.shape);
    }

    [Fact]
    public void Float_class_ids_for_a_classifier_of_several_labels_are_refused_naming_labels_and_the_multi_hot_shape()
    {
        using var seq = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        using var scope = NewDisposeScope();
        var ids = ones(2, 4, dtype: ScalarType.Int64);
        // float[] targets, as ExampleEncoder keeps them, handed over without .to_type(Int64): HF picks multi-label BCE.
        Assert.Equal("labels: shape [2] (Float32) for multi-label classification; expected multi-hot labels of the logits' shape [2, 3], or integer class ids (Int64) for single-label classification.",
            Assert.Throws<BertSharpException>(() => seq.Forward(new BertInput(ids), tensor(new float[] { 0, 2 }))).Message);
        // Multi-hot labels of the logits' shape are HF's BCE-with-logits, mean over every entry.
        var multiHot = tensor(new float[,] { { 1, 0, 1 }, { 0, 1, 0 } });
        var output = seq.Forward(new BertInput(ids), multiHot);
        var l = output.Logits.data<float>().ToArray();
        var y = multiHot.data<float>().ToArray();
        var expected = l.Zip(y, (x, t) => Math.Max(x, 0) - x * t + Math.Log(1 + Math.Exp(-Math.Abs(x)))).Average();
        Assert.Equal(expected, output.Loss!.item<float>(), 5);
    }

    [Fact]
    public void Answer_positions_that_are_not_one_per_sequence_are_refused_naming_them()
    {
        var config = HfTrainStepTests.TinyConfig();
        config.NumLabels = 2;
        using var qa = BertPretrained.Create<BertForQuestionAnswering>(config);
        using var scope = NewDisposeScope();
        var ids = ones(2, 5, dtype: ScalarType.Int64);
        Assert.Equal("start_positions: shape [3] holds 3 positions; expected 2, one per sequence of the logits [2, 5].",
            Assert.Throws<BertSharpException>(() => qa.Forward(new BertInput(ids), tensor(new long[] { 0, 1, 2 }), tensor(new long[] { 1, 2 }))).Message);
        Assert.Equal("end_positions: shape [2, 5] holds 10 positions; expected 2, one per sequence of the logits [2, 5].",
            Assert.Throws<BertSharpException>(() => qa.Forward(new BertInput(ids), tensor(new long[] { 0, 1 }), zeros(2, 5, dtype: ScalarType.Int64))).Message);
        Assert.True(float.IsFinite(qa.Forward(new BertInput(ids), tensor(new long[] { 0, 1 }), tensor(new long[,] { { 1 }, { 2 } })).Loss!.item<float>()));
    }

    [Fact]
    public void A_multiple_choice_mask_or_segment_ids_of_another_shape_are_refused_in_the_shapes_passed()
    {
        using var mc = BertPretrained.Create<BertForMultipleChoice>(HfTrainStepTests.TinyConfig());
        mc.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = ones(2, 3, 4, dtype: ScalarType.Int64);
        // Flattened before BertModel checked it, a [2, 3, 5] mask was reported as "[6, 5] does not fit input_ids [6, 4]".
        Assert.Equal("multiple choice attention_mask: shape [2, 3, 5] differs from input_ids [2, 3, 4]; expected the same shape [batch, choices, seq].",
            Assert.Throws<BertSharpException>(() => mc.Forward(new BertInput(ids, ones(2, 3, 5, dtype: ScalarType.Int64)))).Message);
        Assert.Equal("multiple choice token_type_ids: shape [3, 2, 4] differs from input_ids [2, 3, 4]; expected the same shape [batch, choices, seq].",
            Assert.Throws<BertSharpException>(() => mc.Forward(new BertInput(ids, TokenTypeIds: zeros(3, 2, 4, dtype: ScalarType.Int64)))).Message);
        // A mask and segment ids of the ids' shape, all ones and zeros, are the defaults: the same logits as none.
        var expected = mc.Forward(new BertInput(ids)).Logits.data<float>().ToArray();
        var given = mc.Forward(new BertInput(ids, ones(2, 3, 4, dtype: ScalarType.Int64), zeros(2, 3, 4, dtype: ScalarType.Int64))).Logits;
        Assert.Equal(expected, given.data<float>().ToArray());
    }

    [Fact]
    public void Float_masked_lm_labels_are_refused_naming_labels_on_both_paths_and_integer_ones_of_any_width_are_taken()
    {
        using var mlm = BertPretrained.Create<BertForMaskedLM>(HfTrainStepTests.TinyConfig());
        mlm.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[,] { { 1, 5, 6, 2 } });
        // 5.7 was cast to token 5 without a word: a target the caller never gave.
        var floats = tensor(new float[,] { { -100, 5.7f, -100, -100 } });
        const string expected = "labels: dtype Float32; expected integer token ids (Int64), -100 where nothing is predicted.";
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => mlm.Forward(new BertInput(ids), floats)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => mlm.Forward(new BertInput(ids), floats, logitsAtLabelledPositionsOnly: true)).Message);
        // Int32 labels are the same targets as Int64: the loss is -log_softmax(logits at position 1)[5].
        var output = mlm.Forward(new BertInput(ids), tensor(new int[,] { { -100, 5, -100, -100 } }));
        var row = output.Logits[0, 1].data<float>().ToArray();
        var logSumExp = row.Max() + Math.Log(row.Sum(x => Math.Exp(x - row.Max())));
        Assert.Equal(logSumExp - row[5], output.Loss!.item<float>(), 4);
    }

    [Fact]
    public void Float_answer_positions_are_refused_naming_them_where_they_were_truncated()
    {
        var config = HfTrainStepTests.TinyConfig();
        config.NumLabels = 2;
        using var qa = BertPretrained.Create<BertForQuestionAnswering>(config);
        qa.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = ones(2, 5, dtype: ScalarType.Int64);
        // 1.7 trained on token 1.
        Assert.Equal("start_positions: dtype Float32; expected integer token indices (Int64).",
            Assert.Throws<BertSharpException>(() => qa.Forward(new BertInput(ids), tensor(new float[] { 1.7f, 2 }), tensor(new long[] { 2, 3 }))).Message);
        Assert.Equal("end_positions: dtype Float64; expected integer token indices (Int64).",
            Assert.Throws<BertSharpException>(() => qa.Forward(new BertInput(ids), tensor(new long[] { 1, 2 }), tensor(new double[] { 2, 3 }))).Message);
    }
}
