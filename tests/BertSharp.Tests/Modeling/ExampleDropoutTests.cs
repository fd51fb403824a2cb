using BertSharp.Tests.Infrastructure;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// Keyed per-example dropout: an example's mask depends on (seed, step, its index, the element's coordinates), not on the
/// batch it is in or its padding, so data-parallel ranks reproduce one process's masks; outside a scope dropout is
/// libtorch's.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class ExampleDropoutTests
{
    // A Scalar the GC cannot free during a call, as the library's (StableScalars).
    private static readonly Scalar Zero = StableScalars.Of(0L);

    public ExampleDropoutTests() => TorchRuntime.EnsureLoaded();

    private static bool Same(Tensor a, Tensor b)
    {
        using var eq = a.eq(b);
        return a.shape.SequenceEqual(b.shape) && eq.all().item<bool>();
    }

    [Fact]
    public void Outside_a_scope_it_is_libtorch_dropout()
    {
        using var d = nn.Dropout(0.3);
        d.train();
        using var x = ones(4, 8);
        manual_seed(11);
        using var a = ExampleDropout.Apply(d, x);
        manual_seed(11);
        using var b = d.call(x);
        Assert.True(Same(a, b));
        Assert.False(ExampleDropout.Active);
    }

    [Fact]
    public void An_examples_mask_does_not_depend_on_its_batch_row_or_padding()
    {
        using var d = nn.Dropout(0.25);
        d.train();
        using var wide = rand(2, 3, 6, 5);   // examples 5 and 9, padded to 6 positions
        using var narrow = wide[1, .., ..4, ..].unsqueeze(0).contiguous(); // example 9 alone, 4 positions
        Tensor both, alone, again, nextStep, otherSeed;
        using (ExampleDropout.Use(seed: 3, step: 1, [5, 9]))
        {
            Assert.True(ExampleDropout.Active);
            both = ExampleDropout.Apply(d, wide);
        }
        using (ExampleDropout.Use(seed: 3, step: 1, [9]))
        {
            alone = ExampleDropout.Apply(d, narrow);
        }
        using (ExampleDropout.Use(seed: 3, step: 1, [9]))
        {
            again = ExampleDropout.Apply(d, narrow);
        }
        using (ExampleDropout.Use(seed: 3, step: 2, [9]))
        {
            nextStep = ExampleDropout.Apply(d, narrow);
        }
        using (ExampleDropout.Use(seed: 4, step: 1, [9]))
        {
            otherSeed = ExampleDropout.Apply(d, narrow);
        }
        Assert.False(ExampleDropout.Active);
        Assert.True(Same(both[1, .., ..4, ..].unsqueeze(0), alone));
        Assert.True(Same(alone, again));
        Assert.False(Same(alone, nextStep));
        Assert.False(Same(alone, otherSeed));
        // Example 5's mask is not example 9's.
        Assert.False(Same(both[0].eq(Zero), both[1].eq(Zero)));
        foreach (var t in new[] { both, alone, again, nextStep, otherSeed })
        {
            t.Dispose();
        }
    }

    [Fact]
    public void It_drops_the_share_p_and_scales_the_rest_as_dropout_does()
    {
        using var d = nn.Dropout(0.25);
        d.train();
        using var x = StableScalars.Add(rand(8, 64, 64), StableScalars.Of(1.0));
        using var scope = ExampleDropout.Use(seed: 1, step: 7, [.. Enumerable.Range(100, 8).Select(i => (long)i)]);
        using var y = ExampleDropout.Apply(d, x);
        var dropped = y.eq(Zero).to_type(ScalarType.Float64).mean().item<double>();
        Assert.InRange(dropped, 0.24, 0.26);
        using var kept = y.ne(Zero);
        Assert.True(y.masked_select(kept).allclose(x.masked_select(kept).div(StableScalars.Of(0.75)), rtol: 1e-6, atol: 0));
        // The next call of the same forward pass draws a different mask.
        using var y2 = ExampleDropout.Apply(d, x);
        Assert.False(Same(y2.eq(Zero), y.eq(Zero)));
        d.eval();
        using var z = ExampleDropout.Apply(d, x);
        Assert.True(Same(z, x));
    }

    [Fact]
    public void A_bf16_input_keeps_x_times_the_float32_scale_rounded_once_to_bf16()
    {
        using var d = nn.Dropout(0.1);
        d.train();
        using var all = NewDisposeScope();
        // Values in [0.5, 2): bf16 has 8 significant bits there, so rounding the scale to bf16 first (1.109375 for 1/0.9)
        // moves many products to another bf16 value.
        var x = StableScalars.Add(rand(4, 32, 32, generator: new Generator(5)).mul(StableScalars.Of(1.5)), StableScalars.Of(0.5)).to_type(ScalarType.BFloat16);
        using var scope = ExampleDropout.Use(seed: 3, step: 1, [0L, 1L, 2L, 3L]);
        var y = ExampleDropout.Apply(d, x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        var kept = y.ne(Zero);
        var share = kept.to_type(ScalarType.Float64).mean().item<double>();
        Assert.InRange(share, 0.88, 0.92);
        // Reference: each value times 1/0.9 in float32, then rounded to bf16.
        var expected = x.to_type(ScalarType.Float32).mul(StableScalars.Of(1.0 / 0.9)).to_type(ScalarType.BFloat16);
        Assert.True(Same(y.masked_select(kept), expected.masked_select(kept)));
        // The reference is not what a bf16-rounded scale gives, so the comparison above tells the two apart.
        var twice = x.mul(StableScalars.Of(1.109375)).masked_select(kept);
        Assert.True(twice.ne(expected.masked_select(kept)).to_type(ScalarType.Float64).mean().item<double>() > 0.2);
    }

    [Fact]
    public void A_bert_example_gives_the_same_training_output_alone_or_in_a_batch()
    {
        var config = BertConfig.Preset("tiny");
        config.VocabSize = 50;
        config.NumLabels = 2;
        manual_seed(5);
        using var model = new BertForSequenceClassification(config);
        model.train();
        using var ids = tensor(new long[,] { { 2, 7, 9, 11, 3, 0 }, { 2, 8, 12, 13, 14, 3 } });
        using var mask = ids.ne(Zero).to_type(ScalarType.Int64);
        Tensor pair, single, eval;
        using (ExampleDropout.Use(seed: 9, step: 4, [40, 41]))
        {
            pair = model.Forward(new BertInput(ids, mask)).Logits;
        }
        using (ExampleDropout.Use(seed: 9, step: 4, [40]))
        {
            // Example 40 alone, without the padding the batch gave it.
            single = model.Forward(new BertInput(ids[..1, ..5].contiguous(), mask[..1, ..5].contiguous())).Logits;
        }
        using (no_grad())
        {
            model.eval();
            eval = model.Forward(new BertInput(ids, mask)).Logits;
        }
        Assert.True(pair[..1].allclose(single, rtol: 0, atol: 1e-5), "the example's logits alone differ from its logits in the batch");
        // Dropout was applied: training output is not the eval output.
        Assert.False(pair.allclose(eval, rtol: 0, atol: 1e-4));
        foreach (var t in new[] { pair, single, eval })
        {
            t.Dispose();
        }
    }
}
