using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// Training parity with HF/torch (train_step.safetensors): loss, gradients and their global norm before clipping, and the
/// parameters after torch.optim.AdamW steps with HF's decay groups and clip 1.0; the linear warmup schedule.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class HfTrainStepTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static readonly AdamWOptions FixtureOptimizer = new(LearningRate: 1e-3, Eps: 1e-6, WeightDecay: 0.01);

    [Theory]
    [InlineData("pretraining", "eager")]
    [InlineData("pretraining", "sdpa")]
    [InlineData("sequence-classification", "eager")]
    [InlineData("sequence-classification", "sdpa")]
    public void AdamW_steps_match_torch(string caseName, string attention)
    {
        const string file = "train_step.safetensors";
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out _, c => c.AttnImplementation = attention);
        model.train();
        var steps = HfFixture.Tensors(caseName, file);
        var refs = HfFixture.Tensors(caseName);
        // The sequence-classification file trains on reference.safetensors' inputs.
        var inputs = steps.ContainsKey("in.input_ids") ? steps : refs;
        using var optimizer = AdamWFactory.Create(model, FixtureOptimizer);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var compared = 0;
        var worst = 0.0;
        void Check(Tensor expected, Tensor actual, string name)
        {
            var atol = HfFixture.Atol(caseName, file, name);
            worst = Math.Max(worst, HfFixture.AssertClose(expected, actual, atol, $"{caseName}/{name} ({attention})") / atol);
            compared++;
        }
        try
        {
            for (var step = 1; steps.ContainsKey($"step{step}.loss"); step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var outputs = FixtureRunner.Run(model, inputs, "", withInternals: false);
                var loss = outputs["loss"];
                loss.backward();
                foreach (var (name, expected) in steps.Where(kv => kv.Key.StartsWith($"step{step}.grad.", StringComparison.Ordinal)))
                {
                    var param = parameters[name[$"step{step}.grad.".Length..]];
                    Check(expected, param.grad!, name);
                }
                var norm = GradientClipping.ClipByGlobalNorm(parameters.Values, 1.0);
                optimizer.step();
                Check(steps[$"step{step}.loss"], loss.reshape(1), $"step{step}.loss");
                Check(steps[$"step{step}.grad_norm"], tensor(new[] { (float)norm }), $"step{step}.grad_norm");
                foreach (var (name, expected) in steps.Where(kv => kv.Key.StartsWith($"step{step}.after.", StringComparison.Ordinal)))
                {
                    var param = parameters[name[$"step{step}.after.".Length..]];
                    Check(expected, param, name);
                }
            }
            Assert.True(compared >= 10, $"only {compared} tensors compared");
            log.WriteLine($"{caseName} ({attention}): {compared} tensors, worst {worst:F3} x atol");
        }
        finally
        {
            HfFixture.DisposeAll(steps);
            HfFixture.DisposeAll(refs);
        }
    }

    [Fact]
    public void Legacy_transformers_AdamW_step_matches_hf()
    {
        const string file = "train_step.safetensors";
        using var model = BertPretrained.Load<BertForPreTraining>(HfFixture.Dir("pretraining"));
        model.train();
        var steps = HfFixture.Tensors("pretraining", file);
        using var optimizer = AdamWFactory.Create(model, FixtureOptimizer with { LegacyHf = true });
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        try
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            FixtureRunner.Run(model, steps, "", withInternals: false)["loss"].backward();
            GradientClipping.ClipByGlobalNorm(parameters.Values, 1.0);
            optimizer.step();
            var legacy = steps.Where(kv => kv.Key.StartsWith("hf_adamw.step1.after.", StringComparison.Ordinal)).ToList();
            Assert.True(legacy.Count >= 10);
            foreach (var (name, expected) in legacy)
            {
                var param = parameters[name["hf_adamw.step1.after.".Length..]];
                HfFixture.AssertClose(expected, param, HfFixture.Atol("pretraining", file, name), name);
            }
            // torch's AdamW lands elsewhere: the two variants really differ, and the test tells them apart.
            var torchAfter = steps["step1.after.bert.embeddings.word_embeddings.weight"];
            Assert.False(torchAfter.allclose(parameters["bert.embeddings.word_embeddings.weight"], rtol: 0, atol: 1e-7));
        }
        finally
        {
            HfFixture.DisposeAll(steps);
        }
    }

    [Fact]
    public void Linear_warmup_schedule_matches_hf()
    {
        var steps = HfFixture.Tensors("pretraining", "train_step.safetensors");
        try
        {
            var expected = steps["lr_schedule"].data<double>().ToArray();
            var schedule = new LearningRateSchedule(0.001, warmupSteps: 10, totalSteps: 100);
            Assert.Equal(101, expected.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - schedule.LearningRate(i)) <= 1e-12, $"step {i}: {schedule.LearningRate(i)} != {expected[i]}");
            }
        }
        finally
        {
            HfFixture.DisposeAll(steps);
        }
    }

    [Fact]
    public void Decay_groups_follow_hf_and_nanogpt_rules()
    {
        var config = TinyConfig();
        using var model = BertPretrained.Create<BertForSequenceClassification>(config);
        var named = model.NamedParameters();
        var (decay, noDecay) = AdamWFactory.Split(named, DecayRule.HuggingFace);
        Assert.Equal(named.Count, decay.Count + noDecay.Count);
        Assert.Contains(decay, p => p.Name == "bert.embeddings.word_embeddings.weight");
        Assert.Contains(decay, p => p.Name == "classifier.weight");
        Assert.Contains(noDecay, p => p.Name == "bert.embeddings.LayerNorm.weight");
        Assert.Contains(noDecay, p => p.Name == "bert.encoder.layer.0.attention.self.query.bias");
        Assert.All(decay, p => Assert.DoesNotContain("bias", p.Name, StringComparison.Ordinal));
        var (decay2, _) = AdamWFactory.Split(named, DecayRule.MatricesOnly);
        Assert.All(decay2, p => Assert.True(p.Param.dim() >= 2));
        Assert.Equal(decay.Select(p => p.Name).Order(), decay2.Select(p => p.Name).Order());
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => AdamWFactory.Create((BertPreTrainedModel)null!, new AdamWOptions())).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => AdamWFactory.Create(model, null!)).ParamName);
    }

    [Fact]
    public void Clipping_scales_to_the_max_norm_and_returns_the_norm_before()
    {
        // Gradients (3, 4) and (12): total norm sqrt(9 + 16 + 144) = 13.
        using var a = nn.Parameter(zeros(2));
        using var b = nn.Parameter(zeros(1));
        a.grad = tensor(new float[] { 3, 4 });
        b.grad = tensor(new float[] { 12 });
        var norm = GradientClipping.ClipByGlobalNorm([a, b], 1.0);
        Assert.Equal(13.0, norm, 5);
        var scale = 1.0 / (13.0 + 1e-6);
        Assert.Equal(3 * scale, a.grad!.data<float>()[0], 6);
        Assert.Equal(12 * scale, b.grad!.data<float>()[0], 6);
        // Below the limit nothing changes.
        Assert.Equal(13.0 * scale, GradientClipping.ClipByGlobalNorm([a, b], 5.0), 5);
        Assert.Equal(3 * scale, a.grad!.data<float>()[0], 6);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(0.0)]
    [InlineData(double.NaN)]
    public void Clipping_refuses_a_max_norm_that_is_not_positive_and_leaves_the_gradients(double maxNorm)
    {
        // torch's arithmetic with max_norm -1 is coefficient -1/13: every gradient flipped, an ascent step, and no error.
        using var a = nn.Parameter(zeros(2));
        a.grad = tensor(new float[] { 3, 4 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([a], maxNorm));
        Assert.Equal("maxNorm", e.ParamName);
        Assert.StartsWith(FormattableString.Invariant($"maxNorm {maxNorm}: expected a positive number"), e.Message, StringComparison.Ordinal);
        Assert.Equal([3f, 4f], a.grad!.data<float>().ToArray());
        // Infinity is torch's norm without clipping: the norm 5 back, the gradients as they were.
        Assert.Equal(5.0, GradientClipping.ClipByGlobalNorm([a], double.PositiveInfinity), 5);
        Assert.Equal([3f, 4f], a.grad!.data<float>().ToArray());
        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => GradientClipping.ClipByGlobalNorm(null!, 1.0)).ParamName);
    }

    internal static BertConfig TinyConfig() => new()
    {
        VocabSize = 64, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 32,
        MaxPositionEmbeddings = 32, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, NumLabels = 3,
    };
}
