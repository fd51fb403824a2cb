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
}
