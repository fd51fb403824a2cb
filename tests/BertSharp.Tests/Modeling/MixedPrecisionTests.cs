using static System.FormattableString;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// The bf16 policy (<see cref="MixedPrecision"/>): one Linear against a float64 reference of bf16-rounded operands, the HF
/// fixture models within bf16's precision of their float32 reference outputs (and not bitwise them), the outputs' dtypes,
/// float32 parameters and gradients after backward, and the refusal of other dtypes.
/// </summary>
public class MixedPrecisionTests(Xunit.Abstractions.ITestOutputHelper log)
{
    // bf16 keeps 8 significant bits (7 stored + the implicit one): the unit roundoff of one rounding is 2^-8.
    private const double UnitRoundoff = 1.0 / 256;

    [Fact]
    public void A_linear_under_bf16_is_the_rounded_float64_product_of_the_rounded_operands_within_one_ulp()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var layer = nn.Linear(24, 5);
        using (no_grad())
        {
            layer.weight!.copy_(randn(5, 24, generator: generator));
            layer.bias!.copy_(randn(5, generator: generator));
        }
        var x = randn(3, 24, generator: generator);
        Tensor y;
        using (MixedPrecision.Bf16())
        {
            y = MixedPrecision.Linear(layer, x);
        }
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        // Independent reference: each operand rounded to bf16, the product summed exactly enough in float64, rounded once.
        static Tensor Rounded(Tensor t) => t.to_type(ScalarType.BFloat16).to_type(ScalarType.Float64);
        var exact = matmul(Rounded(x), Rounded(layer.weight!).t()).add(Rounded(layer.bias!), 1.ToScalar());
        var expected = exact.to_type(ScalarType.BFloat16).to_type(ScalarType.Float64).data<double>().ToArray();
        var actual = y.to_type(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            // One ulp of bf16 at the reference's binade: 2^(exponent − 7).
            var ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(expected[i]))) - 7);
            Assert.True(Math.Abs(actual[i] - expected[i]) <= ulp, Invariant($"element {i}: {actual[i]} vs {expected[i]} (ulp {ulp})"));
        }
        // Outside the scope, or inside Off() within it, the same layer is float32 again: bitwise the layer's own call.
        Assert.Equal(ScalarType.Float32, MixedPrecision.Linear(layer, x).dtype);
        using (MixedPrecision.Bf16())
        using (MixedPrecision.Off())
        {
            Assert.Equal(layer.call(x).data<float>().ToArray(), MixedPrecision.Linear(layer, x).data<float>().ToArray());
        }
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in new[] { "sequence-classification", "pretraining", "question-answering", "token-classification" })
        {
            data.Add(c, "eager");
            data.Add(c, "sdpa");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_fixture_models_under_bf16_stay_within_bf16_precision_of_the_float32_reference_and_are_not_it(string caseName, string attention)
    {
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out _, c => c.AttnImplementation = attention);
        model.eval();
        var refs = HfFixture.Tensors(caseName);
        try
        {
            var (worst, differs) = (0.0, false);
            foreach (var prefix in FixtureRunner.Prefixes(refs))
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                Dictionary<string, Tensor> outputs;
                using (MixedPrecision.Bf16())
                {
                    outputs = FixtureRunner.Run(model, refs, prefix, withInternals: attention == "eager");
                }
                foreach (var (name, expected) in refs.Where(kv => kv.Key.StartsWith(prefix + "out.", StringComparison.Ordinal)))
                {
                    if (!outputs.TryGetValue(name[(prefix.Length + 4)..], out var actual))
                    {
                        continue;
                    }
                    var e = expected.to_type(ScalarType.Float64);
                    var a = actual.to_type(ScalarType.Float64);
                    var diff = (a - e).abs().max().item<double>();
                    // The bound, in units of u = 2^-8 (one bf16 rounding) of the tensor's largest magnitude: a layer rounds
                    // in series about 8 times on its longest path (the input cast, the q/k/v results, SDPA's probabilities,
                    // the output dense result, then the FFN's input, result, bf16 GELU and output result), each erring by at
                    // most u of the values it rounds. The branches' errors reach the output only in proportion to the branch's
                    // share of the float32 residual sum, and LayerNorm renormalises each layer, so the layers' errors do not
                    // compound: 8 u, one layer's roundings all adding coherently, bounds a correct policy (measured at most
                    // 2.3 u over these cases), while a broken one (a bias left out under bf16: 17–29 u) lands above it and a
                    // float32 run is within 1e-5.
                    var scale = Math.Max(1.0, e.abs().max().item<double>());
                    var bound = 8 * UnitRoundoff * scale;
                    Assert.True(diff <= bound, Invariant($"{caseName}/{name} ({attention}): |diff| {diff:E3} above 8u · {scale:G4} = {bound:E3}"));
                    worst = Math.Max(worst, diff / scale / UnitRoundoff);
                    // Not the float32 computation: bf16 rounding moves the outputs by far more than float32's own atol.
                    differs |= diff > HfFixture.Atol(caseName, "reference.safetensors", name) * 10;
                }
            }
            log.WriteLine(Invariant($"{caseName} ({attention}): worst |diff| {worst:F2} u of the tensor's scale"));
            Assert.True(differs, $"{caseName} ({attention}): every output within float32's tolerance: bf16 did not run");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    [Fact]
    public void Outputs_leave_with_autocasts_dtypes_and_the_loss_is_float32()
    {
        using var scope = NewDisposeScope();
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"), out _, c => c.AttnImplementation = "eager");
        var ids = tensor(new long[,] { { 2, 17, 33, 3, 0 }, { 2, 40, 41, 42, 3 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 0 }, { 1, 1, 1, 1, 1 } });
        ClassifierOutput o;
        using (MixedPrecision.Bf16())
        {
            o = model.Forward(new BertInput(ids, mask), tensor(new long[] { 0, 1 }), outputHiddenStates: true, outputAttentions: true);
        }
        Assert.Equal(ScalarType.BFloat16, o.Logits.dtype);
        Assert.Equal(ScalarType.BFloat16, o.Bert.PoolerOutput!.dtype);
        Assert.Equal(ScalarType.Float32, o.Bert.LastHiddenState.dtype);
        Assert.All(o.Bert.HiddenStates!, h => Assert.Equal(ScalarType.Float32, h.dtype));
        Assert.All(o.Bert.Attentions!, a => Assert.Equal(ScalarType.Float32, a.dtype));
        Assert.Equal(ScalarType.Float32, o.Loss!.dtype);
        // The float32 loss is cross-entropy of the bf16 logits read as float32 (cast up before the loss, not after).
        var expected = nn.functional.cross_entropy(o.Logits.to_type(ScalarType.Float32), tensor(new long[] { 0, 1 }));
        Assert.Equal(expected.item<float>(), o.Loss.item<float>());
    }

    [Fact]
    public void After_backward_under_bf16_every_parameter_and_gradient_is_float32()
    {
        using var scope = NewDisposeScope();
        using var model = BertPretrained.Load<BertForPreTraining>(HfFixture.Dir("pretraining"), out _);
        model.train();
        var ids = tensor(new long[,] { { 2, 17, 33, 3, 40, 3 } });
        var labels = tensor(new long[,] { { -100, 20, -100, -100, 41, -100 } });
        Tensor loss;
        using (MixedPrecision.Bf16())
        {
            loss = model.Forward(new BertInput(ids), labels, tensor(new long[] { 1 })).Loss!;
        }
        Assert.Equal(ScalarType.Float32, loss.dtype);
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.dtype == ScalarType.Float32, $"{name}: {p.dtype}");
            Assert.True(p.grad is { } g && g.dtype == ScalarType.Float32, $"{name}: gradient {p.grad?.dtype}");
        }
        // The gradient reached the bf16 matmuls' float32 weights through the casts.
        var query = model.named_parameters().Single(p => p.name == "bert.encoder.layer.0.attention.self.query.weight").parameter;
        Assert.True(query.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Gelu_new_under_bf16_is_its_float32_formula_on_the_bf16_input_as_autocasts_float32_pow_makes_it()
    {
        using var all = NewDisposeScope();
        var gelu = Activations.Get("gelu_new");
        var x = randn(64, 64, generator: new Generator(9)).mul(StableScalars.Of(3.0)).to_type(ScalarType.BFloat16);
        // Reference: the float32 formula (checked against HF by the act-gelu_new fixture) on the same bf16 values.
        var expected = gelu(x.to_type(ScalarType.Float32));
        Tensor y;
        using (MixedPrecision.Bf16())
        {
            y = gelu(x);
        }
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.True(y.eq(expected).all().item<bool>());
        // Computed in bf16 (each operation rounded) most values land elsewhere than the float32 result rounded once.
        var inBf16 = gelu(x);
        Assert.Equal(ScalarType.BFloat16, inBf16.dtype);
        var apart = inBf16.ne(expected.to_type(ScalarType.BFloat16)).to_type(ScalarType.Float64).mean().item<double>();
        log.WriteLine(Invariant($"{apart:P1} of the values computed in bf16 differ"));
        Assert.True(apart > 0.05, Invariant($"{apart:P1}"));
    }

    [Fact]
    public void A_row_masked_everywhere_attends_uniformly_under_bf16_as_in_float32()
    {
        using var all = NewDisposeScope();
        var g = new Generator(4);
        var (q, k, v) = (randn(1, 2, 3, 8, generator: g), randn(1, 2, 3, 8, generator: g), randn(1, 2, 3, 8, generator: g));
        // HF's additive mask with every key of the example masked (an all-padding row): float32's lowest value, which
        // rounds to -inf in bf16.
        var mask = StableScalars.AdditiveMask(zeros(1, 1, 1, 3));
        Tensor context;
        using (MixedPrecision.Bf16())
        {
            context = MixedPrecision.Attention(q, k, v, mask, 0.0);
        }
        Assert.Equal(ScalarType.BFloat16, context.dtype);
        // Reference by hand: equal scores, so each query's context is the mean of the values (float32 gives that too).
        var expected = v.mean([2], keepdim: true).expand_as(v);
        var error = context.to_type(ScalarType.Float32).sub(expected).abs().max().item<float>();
        Assert.True(error <= 4 * UnitRoundoff * expected.abs().max().item<float>(), Invariant($"max error {error}"));
    }

    [Fact]
    public void Scopes_nest_and_restore_and_other_dtypes_are_refused_in_one_line()
    {
        Assert.False(MixedPrecision.IsBf16Active);
        using (MixedPrecision.Autocast(ScalarType.BFloat16))
        {
            using (MixedPrecision.Bf16())
            {
                Assert.True(MixedPrecision.IsBf16Active);
            }
            Assert.True(MixedPrecision.IsBf16Active);
            using (MixedPrecision.Off())
            {
                Assert.False(MixedPrecision.IsBf16Active);
                using (MixedPrecision.Bf16())
                {
                    Assert.True(MixedPrecision.IsBf16Active);
                }
                Assert.False(MixedPrecision.IsBf16Active);
            }
            Assert.True(MixedPrecision.IsBf16Active);
        }
        Assert.False(MixedPrecision.IsBf16Active);
        var e = Assert.Throws<BertSharpException>(() => MixedPrecision.Autocast(ScalarType.Float16));
        Assert.Equal("mixed precision dtype Float16: expected BFloat16 (float16 would need a gradient scaler, which BertSharp does not have).", e.Message);
        Assert.False(MixedPrecision.IsBf16Active);
    }
}
