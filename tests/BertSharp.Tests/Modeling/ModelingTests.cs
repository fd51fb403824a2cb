using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>Behaviour not covered by the HF fixtures: activations by formula, HF init, masks and input validation.</summary>
public class ModelingTests
{
    [Theory]
    [InlineData("gelu", 1.0, 0.8413447460685429)]        // x·Φ(x)
    [InlineData("gelu_new", 1.0, 0.8411919906082768)]    // 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
    [InlineData("relu", -2.0, 0.0)]
    [InlineData("silu", 1.0, 0.7310585786300049)]        // x·σ(x)
    [InlineData("tanh", 0.5, 0.46211715726000974)]
    // The HF checkpoints' other names: each is its own formula, and no test ran them (a checkpoint with gelu_fast loaded and
    // computed whatever the arm held). At -1.5 gelu_fast's rounded √(2/π) differs from gelu_new's in the twelfth digit.
    [InlineData("gelu_python", -1.5, -0.10021080190328713)]         // x·Φ(x)
    [InlineData("gelu_pytorch_tanh", -1.5, -0.10042842301976707)]   // as gelu_new
    [InlineData("gelu_fast", -1.5, -0.1004284230206536)]            // 0.5x(1 + tanh(0.7978845608·x(1 + 0.044715x²)))
    [InlineData("quick_gelu", -1.5, -0.10833780155292343)]          // x·σ(1.702x)
    [InlineData("swish", -1.5, -0.2736382857095345)]                // x·σ(x)
    public void Activations_follow_their_formulas(string name, double x, double expected)
    {
        using var t = tensor(new[] { x }, dtype: ScalarType.Float64);
        using var y = Activations.Get(name)(t);
        Assert.Equal(expected, y.item<double>(), 12);
    }

    [Fact]
    public void Init_follows_hf_init_weights()
    {
        var config = HfTrainStepTests.TinyConfig();
        config.InitializerRange = 0.5;
        config.PadTokenId = 3;
        using var model = BertPretrained.Create<BertForPreTraining>(config);
        var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        Assert.Equal(0f, p["bert.embeddings.word_embeddings.weight"][3].abs().max().item<float>());
        Assert.InRange(p["bert.embeddings.word_embeddings.weight"].std().item<float>(), 0.45f, 0.55f);
        Assert.InRange(p["bert.encoder.layer.0.intermediate.dense.weight"].std().item<float>(), 0.45f, 0.55f);
        Assert.Equal(0f, p["bert.encoder.layer.0.intermediate.dense.bias"].abs().max().item<float>());
        Assert.Equal(1f, p["bert.encoder.layer.1.output.LayerNorm.weight"].min().item<float>());
        Assert.Equal(0f, p["cls.predictions.bias"].abs().max().item<float>());
    }

    [Fact]
    public void Padding_does_not_change_the_outputs_of_real_tokens()
    {
        var config = HfTrainStepTests.TinyConfig();
        using var model = BertPretrained.Create<BertForSequenceClassification>(config);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = tensor(new long[] { 1, 5, 6, 7, 2 }).unsqueeze(0);
        var padded = tensor(new long[] { 1, 5, 6, 7, 2, 0, 0, 0 }).unsqueeze(0);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 0, 0, 0 }).unsqueeze(0);
        foreach (var attn in new[] { "eager", "sdpa" })
        {
            model.Config.AttnImplementation = attn;
            var a = model.Forward(new BertInput(ids));
            var b = model.Forward(new BertInput(padded, mask));
            Assert.True(a.Logits.allclose(b.Logits, atol: 1e-6), attn);
            Assert.True(a.Bert.LastHiddenState.allclose(b.Bert.LastHiddenState[.., ..5], atol: 1e-6), attn);
        }
    }

    [Fact]
    public void Sdpa_mode_runs_libtorchs_kernel_which_gives_a_query_that_attends_nowhere_zeros()
    {
        // A row of the mask that drops every key: the eager softmax divides 0 by 0, libtorch's kernel (its safe softmax)
        // gives the row zeros. Only -inf shows it; the model's masks use finfo.min, finite, for which the two agree.
        using var attention = new BertSelfAttention(HfTrainStepTests.TinyConfig());
        attention.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var hidden = randn(1, 3, 16);
        var none = float.NegativeInfinity;
        var mask = tensor(new float[] { 0, 0, 0, none, none, none, 0, 0, 0 }, [1, 1, 3, 3]);
        var (eager, probs) = attention.Forward(hidden, mask, eager: true);
        Assert.NotNull(probs);
        Assert.True(eager[0, 1].isnan().all().item<bool>());
        var (sdpa, noProbs) = attention.Forward(hidden, mask, eager: false);
        Assert.Null(noProbs);
        Assert.Equal(0f, sdpa[0, 1].abs().max().item<float>());
        Assert.True(sdpa[0, 0].allclose(eager[0, 0], atol: 1e-6));
    }

    [Fact]
    public void Submodules_refuse_a_hidden_size_the_heads_do_not_divide_when_built()
    {
        // Only the models validated their config: a submodule built from one failed at its first forward pass, a raw
        // TorchSharp shape error (the embeddings, which have no heads, never failed at all).
        var config = HfTrainStepTests.TinyConfig();
        config.HiddenSize = 10;
        config.NumAttentionHeads = 4;
        const string expected = "config: hidden_size 10 is not a multiple of num_attention_heads 4.";
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new BertSelfAttention(config)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new BertEncoder(config)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new BertEmbeddings(config)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new BertClsHeads(config, mlm: true, nsp: true)).Message);
    }

    [Fact]
    public void Attention_frees_its_probabilities_when_the_output_block_throws()
    {
        using var attention = new BertAttention(HfTrainStepTests.TinyConfig());
        var output = (BertResidualOutput)attention.named_children().Single(c => c.name == "output").module;
        output.register_forward_pre_hook((_, _, _) => throw new InvalidOperationException("output block failed"));
        using var hidden = ones(1, 3, 16);
        // Live tensor handles of this thread: the probabilities the caller never received stayed counted here.
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal("output block failed", Assert.Throws<InvalidOperationException>(() => attention.Forward(hidden, null, eager: true)).Message);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void A_3d_mask_equals_the_2d_mask_it_expands()
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = tensor(new long[,] { { 1, 5, 6, 0 }, { 1, 7, 0, 0 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 0 }, { 1, 1, 0, 0 } });
        var a = model.Forward(ids, mask).LastHiddenState;
        var b = model.Forward(ids, mask.unsqueeze(1).expand(2, 4, 4)).LastHiddenState;
        Assert.True(a.allclose(b, atol: 1e-6));
        Assert.Throws<BertSharpException>(() => model.Forward(ids, mask.reshape(2, 2, 2, 1)));
    }

    [Fact]
    public void Attentions_are_probabilities_and_zero_on_padding()
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var o = model.Forward(tensor(new long[,] { { 1, 5, 6, 0 } }), tensor(new long[,] { { 1, 1, 1, 0 } }), outputHiddenStates: true, outputAttentions: true);
        Assert.Equal(3, o.HiddenStates!.Count);
        Assert.Equal(2, o.Attentions!.Count);
        Assert.Equal(new long[] { 1, 2, 4, 4 }, o.Attentions[0].shape);
        Assert.True(o.Attentions[1].sum(-1).allclose(ones(1, 2, 4), atol: 1e-6));
        Assert.Equal(0f, o.Attentions[0][.., .., .., 3].abs().max().item<float>());
        Assert.Same(o.LastHiddenState, o.HiddenStates[^1]);
    }

    [Fact]
    public void Too_long_input_and_wrong_rank_are_clear_errors()
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        var e = Assert.Throws<BertSharpException>(() => model.Forward(zeros(1, 40, dtype: ScalarType.Int64)));
        Assert.Contains("max_position_embeddings 32", e.Message, StringComparison.Ordinal);
        Assert.Throws<BertSharpException>(() => model.Forward(zeros(40, dtype: ScalarType.Int64)));
        using var mc = BertPretrained.Create<BertForMultipleChoice>(HfTrainStepTests.TinyConfig());
        Assert.Throws<BertSharpException>(() => mc.Forward(new BertInput(zeros(2, 4, dtype: ScalarType.Int64))));
    }

    [Fact]
    public void Null_arguments_of_the_factories_are_argument_null_exceptions_naming_them()
    {
        static string? Param(Action call) => Assert.Throws<ArgumentNullException>(call).ParamName;
        Assert.Equal("config", Param(() => BertPretrained.Create<BertModel>(null!)));
        Assert.Equal("architecture", Param(() => BertPretrained.Create(null!, HfTrainStepTests.TinyConfig())));
        Assert.Equal("name", Param(() => BertConfig.Preset(null!)));
        Assert.Equal("path", Param(() => BertConfig.Load(null!)));
        Assert.Equal("idOrDir", Param(() => BertPretrained.Load<BertModel>(null!, out _)));
        Assert.Equal("name", Param(() => BertPretrained.ParseDtype(null!)));
        using var tmp = TestPaths.TempDir();
        var dir = Path.Combine(tmp.Path, "model");
        Assert.Equal("model", Param(() => BertPretrained.Save(null!, dir)));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void A_null_input_is_an_argument_null_exception_at_every_forward()
    {
        var config = HfTrainStepTests.TinyConfig();
        using var bert = BertPretrained.Create<BertModel>(config);
        using var seq = BertPretrained.Create<BertForSequenceClassification>(config);
        using var tok = BertPretrained.Create<BertForTokenClassification>(config);
        using var mlm = BertPretrained.Create<BertForMaskedLM>(config);
        using var pre = BertPretrained.Create<BertForPreTraining>(config);
        using var nsp = BertPretrained.Create<BertForNextSentencePrediction>(config);
        var qaConfig = HfTrainStepTests.TinyConfig();
        qaConfig.NumLabels = 2;
        using var qa = BertPretrained.Create<BertForQuestionAnswering>(qaConfig);
        using var mc = BertPretrained.Create<BertForMultipleChoice>(config);
        Action[] calls =
        [
            () => bert.Forward((BertInput)null!), () => seq.Forward(null!), () => tok.Forward(null!), () => mlm.Forward(null!),
            () => pre.Forward(null!), () => nsp.Forward(null!), () => qa.Forward(null!), () => mc.Forward(null!),
        ];
        Assert.All(calls, call => Assert.Equal("input", Assert.Throws<ArgumentNullException>(call).ParamName));
        var noIds = Assert.Throws<ArgumentException>(() => seq.Forward(new BertInput(null!)));
        Assert.Contains("input_ids", noIds.Message, StringComparison.Ordinal);
        Assert.Contains("input_ids", Assert.Throws<ArgumentException>(() => mc.Forward(new BertInput(null!))).Message, StringComparison.Ordinal);
    }

    // TinyConfig: vocab_size 64, type_vocab_size 2, max_position_embeddings 32.
    [Theory]
    [InlineData(64L, "input_ids: id 64 is outside [0, 64) (vocab_size 64).")]
    [InlineData(-1L, "input_ids: id -1 is outside [0, 64) (vocab_size 64).")]
    public void Ids_outside_the_vocabulary_are_refused_naming_input_ids(long id, string expected)
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        using var ids = tensor(new long[,] { { 1, 5, 6 }, { 1, id, 2 } });
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => model.Forward(ids)).Message);
    }

    [Fact]
    public void Bad_token_types_positions_and_masks_are_refused_naming_the_input()
    {
        using var model = BertPretrained.Create<BertModel>(HfTrainStepTests.TinyConfig());
        using var scope = NewDisposeScope();
        var ids = ones(2, 5, dtype: ScalarType.Int64);
        Assert.Equal("token_type_ids: type id 2 is outside [0, 2) (type_vocab_size 2).",
            Assert.Throws<BertSharpException>(() => model.Forward(ids, tokenTypeIds: full(2, 5, StableScalars.Of(2L), dtype: ScalarType.Int64))).Message);
        Assert.Equal("token_type_ids: shape [2, 4] differs from input_ids [2, 5]; expected the same shape.",
            Assert.Throws<BertSharpException>(() => model.Forward(ids, tokenTypeIds: zeros(2, 4, dtype: ScalarType.Int64))).Message);
        Assert.Equal("position_ids: position 32 is outside [0, 32) (max_position_embeddings 32).",
            Assert.Throws<BertSharpException>(() => model.Forward(new BertInput(ids, PositionIds: full(1, 5, StableScalars.Of(32L), dtype: ScalarType.Int64)))).Message);
        Assert.Equal("attention_mask: shape [2, 7] does not fit input_ids [2, 5]; expected [batch, seq] or [batch, seq, seq].",
            Assert.Throws<BertSharpException>(() => model.Forward(ids, ones(2, 7, dtype: ScalarType.Int64))).Message);
        Assert.Contains("attention_mask: shape [2, 5, 4]",
            Assert.Throws<BertSharpException>(() => model.Forward(ids, ones(2, 5, 4, dtype: ScalarType.Int64))).Message, StringComparison.Ordinal);
        Assert.Equal("input_ids: shape [1, 0] has no tokens; expected at least one per sequence.",
            Assert.Throws<BertSharpException>(() => model.Forward(ones(1, 0, dtype: ScalarType.Int64))).Message);
        Assert.Equal("input_ids: dtype Float32; expected integer indices (Int64 or Int32).",
            Assert.Throws<BertSharpException>(() => model.Forward(ones(1, 3, dtype: ScalarType.Float32))).Message);
        // Int32 ids stay accepted (libtorch's embedding takes them) and give the same output as Int64.
        model.eval();
        using var noGrad = torch.no_grad();
        var ids64 = tensor(new long[,] { { 1, 63, 0 } });
        Assert.True(model.Forward(ids64).LastHiddenState.allclose(model.Forward(ids64.to_type(ScalarType.Int32)).LastHiddenState));
    }

    [Fact]
    public void Labels_outside_the_classes_are_refused_naming_them_and_minus_100_is_ignored()
    {
        var config = HfTrainStepTests.TinyConfig();
        using var scope = NewDisposeScope();
        var ids = ones(2, 4, dtype: ScalarType.Int64);
        using var seq = BertPretrained.Create<BertForSequenceClassification>(config);
        Assert.Equal("labels: class 7 is outside [0, 3) and is not the ignore index -100.",
            Assert.Throws<BertSharpException>(() => seq.Forward(new BertInput(ids), tensor(new long[] { 1, 7 }))).Message);
        Assert.Equal("labels: class -1 is outside [0, 3) and is not the ignore index -100.",
            Assert.Throws<BertSharpException>(() => seq.Forward(new BertInput(ids), tensor(new long[] { -1, 0 }))).Message);
        Assert.Equal("labels: shape [3] holds 3 labels; expected 2, one per row of logits [2, 3].",
            Assert.Throws<BertSharpException>(() => seq.Forward(new BertInput(ids), tensor(new long[] { 0, 1, 2 }))).Message);
        Assert.True(float.IsFinite(seq.Forward(new BertInput(ids), tensor(new long[] { -100, 2 })).Loss!.item<float>()));
        using var tok = BertPretrained.Create<BertForTokenClassification>(config);
        Assert.Contains("labels: class 3 is outside [0, 3)", Assert.Throws<BertSharpException>(() =>
            tok.Forward(new BertInput(ids), tensor(new long[,] { { -100, 0, 1, 2 }, { -100, 3, 0, -100 } }))).Message, StringComparison.Ordinal);
        using var nsp = BertPretrained.Create<BertForNextSentencePrediction>(config);
        Assert.StartsWith("labels: class 2 is outside [0, 2)",
            Assert.Throws<BertSharpException>(() => nsp.Forward(new BertInput(ids), tensor(new long[] { 0, 2 }))).Message, StringComparison.Ordinal);
        using var pre = BertPretrained.Create<BertForPreTraining>(config);
        Assert.StartsWith("next_sentence_label: class 2 is outside [0, 2)",
            Assert.Throws<BertSharpException>(() => pre.Forward(new BertInput(ids), nextSentenceLabel: tensor(new long[] { 0, 2 }))).Message, StringComparison.Ordinal);
        using var mlm = BertPretrained.Create<BertForMaskedLM>(config);
        var mlmLabels = tensor(new long[,] { { -100, 64, -100, -100 }, { -100, -100, -100, 5 } });
        foreach (var labelledOnly in new[] { false, true })
        {
            Assert.StartsWith("labels: class 64 is outside [0, 64)", Assert.Throws<BertSharpException>(() =>
                mlm.Forward(new BertInput(ids), mlmLabels, logitsAtLabelledPositionsOnly: labelledOnly)).Message, StringComparison.Ordinal);
        }
        Assert.StartsWith("labels: shape [2, 3] holds 6 labels", Assert.Throws<BertSharpException>(() =>
            mlm.Forward(new BertInput(ids), full(2, 3, StableScalars.Of(-100L), dtype: ScalarType.Int64), logitsAtLabelledPositionsOnly: true)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loss_rules_follow_hf()
    {
        using var logits = tensor(new float[,] { { 2, 0, -1 }, { 0, 1, 0 } });
        // Integer labels, 3 classes → cross-entropy; -100 rows ignored.
        var (ce, kind) = Losses.SequenceClassification(logits, tensor(new long[] { 0, -100 }), 3, null);
        Assert.Equal("single_label_classification", kind);
        var expected = -Math.Log(Math.Exp(2) / (Math.Exp(2) + 1 + Math.Exp(-1)));
        Assert.Equal(expected, ce.item<float>(), 1e-6);
        // One label → MSE on the squeezed logits.
        var (mse, kind2) = Losses.SequenceClassification(tensor(new float[,] { { 1 }, { 3 } }), tensor(new float[] { 0, 1 }), 1, null);
        Assert.Equal(("regression", 2.5f), (kind2, mse.item<float>()));
        // Float labels with several classes → BCE with logits.
        var (_, kind3) = Losses.SequenceClassification(logits, zeros(2, 3), 3, null);
        Assert.Equal("multi_label_classification", kind3);
        // QA: positions beyond the sequence are clamped to seq and ignored; only row 0 counts.
        using var start = tensor(new float[,] { { 0, 0, 0 }, { 5, 0, 0 } });
        var qa = Losses.QuestionAnswering(start, start, tensor(new long[] { 1, 99 }), tensor(new long[] { 1, 99 }));
        Assert.Equal(Math.Log(3), qa.item<float>(), 1e-6);
        // A negative position is not ignored: it is clamped to 0 (the documented rule), so row 1 counts with target 0,
        // CE = -log(e⁵ / (e⁵ + 2)) for start and end alike, averaged with row 0's log 3.
        var negative = Losses.QuestionAnswering(start, start, tensor(new long[] { 1, -5 }), tensor(new long[] { 1, -5 }));
        Assert.Equal((Math.Log(3) - Math.Log(Math.Exp(5) / (Math.Exp(5) + 2))) / 2, negative.item<float>(), 1e-6);
    }
}
