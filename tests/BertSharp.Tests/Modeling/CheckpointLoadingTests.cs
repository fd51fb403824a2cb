using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>HF's loading rules (bert. prefix both ways, missing/unexpected keys, tied weights) and save → load round trips.</summary>
public class CheckpointLoadingTests
{
    private static List<string> HfList(string caseName, string rule, string field) =>
        [.. ((JsonArray)HfFixture.Case(caseName)["hf_loading"]![rule]![field]!).Select(n => (string)n!)];

    [Fact]
    public void BertModel_from_a_head_checkpoint_strips_bert_and_reports_cls_as_unexpected()
    {
        using var model = BertPretrained.Load<BertModel>(HfFixture.Dir("pretraining"), out var report);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(HfList("base-model", "BertModel <- pretraining/ (strip 'bert.')", "unexpected_keys"), report.UnexpectedKeys);
        Assert.NotNull(report.Warning);
        model.eval();
        var refs = HfFixture.Tensors("base-model");
        try
        {
            using var noGrad = torch.no_grad();
            var o = FixtureRunner.Run(model, refs, "", withInternals: false);
            HfFixture.AssertClose(refs["out.last_hidden_state"], o["last_hidden_state"], 1e-5, "last_hidden_state");
            HfFixture.AssertClose(refs["out.pooler_output"], o["pooler_output"], 1e-5, "pooler_output");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    [Fact]
    public void Head_model_from_a_bare_checkpoint_adds_bert_and_initialises_the_heads()
    {
        using var model = BertPretrained.Load<BertForPreTraining>(HfFixture.Dir("base-model"), out var report);
        Assert.Equal(HfList("base-model", "BertForPreTraining <- base-model/ (add 'bert.'; cls.* newly initialised)", "missing_keys"),
            report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Contains("cls.seq_relationship.weight", report.Warning!, StringComparison.Ordinal);
        // The encoder weights were loaded; the fresh head follows HF's init: bias 0, LayerNorm 1, weights ~ N(0, 0.08).
        using var reference = SafeTensors.Load(Path.Combine(HfFixture.Dir("base-model"), "model.safetensors"))["encoder.layer.1.output.dense.weight"];
        var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        Assert.True(p["bert.encoder.layer.1.output.dense.weight"].equal(reference).all().item<bool>());
        Assert.Equal(0f, p["cls.predictions.bias"].abs().max().item<float>());
        Assert.Equal(1f, p["cls.predictions.transform.LayerNorm.weight"].min().item<float>());
        var std = p["cls.predictions.transform.dense.weight"].std().item<float>();
        Assert.InRange(std, 0.07f, 0.09f);
    }

    [Fact]
    public void Mlm_decoder_stays_tied_to_the_word_embeddings()
    {
        using var model = BertPretrained.Load<BertForMaskedLM>(HfFixture.Dir("masked-lm"));
        model.eval();
        Assert.DoesNotContain(model.NamedParameters(), p => p.Name.Contains("decoder", StringComparison.Ordinal));
        using var ids = tensor(new long[] { 101, 7, 102 }).unsqueeze(0);
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var before = model.Forward(new BertInput(ids)).Logits;
        // Zero every embedding row except the three used as input: if the decoder shares the matrix, the logits of every
        // other token collapse to the output bias; a copied decoder would not notice.
        var keep = model.Bert.WordEmbeddingWeight.index_select(0, tensor(new long[] { 101, 7, 102 })).clone();
        model.Bert.WordEmbeddingWeight.zero_();
        model.Bert.WordEmbeddingWeight.index_copy_(0, tensor(new long[] { 101, 7, 102 }), keep);
        var after = model.Forward(new BertInput(ids)).Logits;
        var bias = model.NamedParameters().Single(p => p.Name == "cls.predictions.bias").Param;
        Assert.True(after[0, 0, 50].equal(bias[50]).all().item<bool>());
        Assert.True(after[0, 2, 300].equal(bias[300]).all().item<bool>());
        Assert.False(before[0, 0, 50].equal(bias[50]).all().item<bool>());
        Assert.True(after[0, .., 7].allclose(before[0, .., 7]));
    }

    // HF keeps a separate decoder matrix when tie_word_embeddings is false; BertSharp's decoder is the embedding matrix, so
    // such a checkpoint's decoder weight was ignored (fill-mask answered from the embeddings) and 'bert convert' left it out.
    [Fact]
    public void An_untied_mlm_decoder_is_refused_and_the_encoder_still_loads()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("masked-lm", tmp.Path);
        var config = BertConfig.Load(Path.Combine(tmp.Path, "config.json"));
        config.Extra["tie_word_embeddings"] = false;
        config.Save(Path.Combine(tmp.Path, "config.json"));
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Load<BertForMaskedLM>(tmp.Path));
        Assert.StartsWith($"{tmp.Path}: field 'tie_word_embeddings' is false (a masked-LM decoder matrix of its own, cls.predictions.decoder.weight), " +
            "but BertForMaskedLM decodes masked tokens with the word-embedding matrix", e.Message, StringComparison.Ordinal);
        // Setting the field to true silences the refusal but throws the trained decoder away: the message must not offer it as the fix.
        Assert.EndsWith("Load the encoder alone (BertModel); setting the field to true would decode with the word embeddings instead of the trained decoder.",
            e.Message, StringComparison.Ordinal);
        // A model built from such a config (pre-training from scratch) is refused too: it would be saved as untied.
        Assert.Contains("field 'tie_word_embeddings' is false", Assert.Throws<BertSharpException>(() => BertPretrained.Create<BertForPreTraining>(config)).Message,
            StringComparison.Ordinal);
        // The encoder has no decoder to tie: it loads.
        using var encoder = BertPretrained.Load<BertModel>(tmp.Path);
        config.Extra["tie_word_embeddings"] = true;
        config.Save(Path.Combine(tmp.Path, "config.json"));
        using var tied = BertPretrained.Load<BertForMaskedLM>(tmp.Path);
    }

    [Fact]
    public void Sharded_safetensors_load_to_the_same_outputs_and_inspect_counts_all_shards()
    {
        // tests/fixtures/checkpoints/sharded is pretraining/model.safetensors split in three shards with HF's index.
        using var tmp = TestPaths.TempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "checkpoints", "sharded")))
        {
            File.Copy(f, Path.Combine(tmp.Path, Path.GetFileName(f)));
        }
        File.Copy(Path.Combine(HfFixture.Dir("pretraining"), "config.json"), tmp.File("config.json"));
        HfFixture.AssertLoadsAsPretrainingCase(tmp.Path, "sharded");
        var info = ModelInspection.Read(tmp.Path);
        Assert.Equal(113_154, info.TotalParameters);
        Assert.Equal(46, info.Tensors.Count);
    }

    public static TheoryData<string> SafetensorsCases()
    {
        var d = new TheoryData<string>();
        foreach (var c in HfFixture.CaseNames.Where(c => File.Exists(Path.Combine(HfFixture.Dir(c), "model.safetensors"))))
        {
            d.Add(c);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(SafetensorsCases))]
    public void Save_writes_hf_keys_dtypes_shapes_and_reloads_to_identical_outputs(string caseName)
    {
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out _);
        model.eval();
        using var tmp = TestPaths.TempDir();
        var outDir = Path.Combine(tmp.Path, "saved");
        BertPretrained.Save(model, outDir, new SaveOptions(TokenizerFrom: HfFixture.Dir(caseName)));

        var ours = SafeTensors.ReadHeader(Path.Combine(outDir, "model.safetensors"));
        var hf = SafeTensors.ReadHeader(Path.Combine(HfFixture.Dir(caseName), "model.safetensors"));
        Assert.Equal(hf.Tensors.Select(t => $"{t.Name} {t.DType.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal),
            ours.Tensors.Select(t => $"{t.Name} {t.DType.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(outDir, "vocab.txt")));

        var savedConfig = BertConfig.Load(Path.Combine(outDir, "config.json"));
        var hfConfig = BertConfig.Load(Path.Combine(HfFixture.Dir(caseName), "config.json"));
        Assert.Equal(hfConfig.ToJson(), savedConfig.ToJson());

        using var reloaded = BertPretrained.Load(architecture, outDir, out var report);
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        reloaded.eval();
        var refs = HfFixture.Tensors(caseName);
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = torch.no_grad();
            var a = FixtureRunner.Run(model, refs, "", withInternals: false);
            var b = FixtureRunner.Run(reloaded, refs, "", withInternals: false);
            foreach (var (k, t) in a)
            {
                Assert.True(t.equal(b[k]).all().item<bool>(), $"{caseName}: {k} differs after save → load");
            }
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    [Theory]
    [InlineData("float16", "F16")]
    [InlineData("bfloat16", "BF16")]
    public void Half_precision_save_loads_back_as_fp32_close_to_the_original(string dtype, string stName)
    {
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"));
        model.eval();
        using var tmp = TestPaths.TempDir();
        BertPretrained.Save(model, tmp.Path, new SaveOptions(Dtype: BertPretrained.ParseDtype(dtype)));
        var header = SafeTensors.ReadHeader(Path.Combine(tmp.Path, "model.safetensors"));
        Assert.All(header.Tensors, t => Assert.Equal(stName, t.DType.Name));
        Assert.Equal(dtype, BertConfig.Load(Path.Combine(tmp.Path, "config.json")).TorchDtype);

        using var reloaded = BertPretrained.Load<BertForSequenceClassification>(tmp.Path, out var report);
        Assert.Equal([stName == "F16" ? "Float16" : "BFloat16"], report.SourceDtypes);
        var p = reloaded.NamedParameters();
        Assert.All(p, x => Assert.Equal(ScalarType.Float32, x.Param.dtype));
        var original = model.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
        // Rounding to 8 (bf16) or 11 (fp16) significant bits: relative error below 2^-8 resp. 2^-11.
        var rel = stName == "F16" ? 1.0 / 2048 : 1.0 / 256;
        foreach (var (name, param) in p)
        {
            using var diff = (param - original[name]).abs();
            using var bound = StableScalars.Add(original[name].abs().mul(StableScalars.Of(rel)), StableScalars.Of(1e-7));
            Assert.True(diff.le(bound).all().item<bool>(), $"{name}: {dtype} round trip error too large");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    public void State_dict_leaves_no_intermediate_tensors_alive(ScalarType dtype)
    {
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"));
        // Live tensor handles of this thread: what StateDict creates and its caller does not dispose stays counted here.
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var state = BertPretrained.StateDict(model, dtype);
        Assert.All(state.Values, t => Assert.Equal(dtype, t.dtype));
        foreach (var t in state.Values)
        {
            t.Dispose();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Saving_a_disposed_model_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        // One directory bert wrote (replaced without Overwrite) and one it did not (replaced only with Overwrite).
        var own = Path.Combine(tmp.Path, "own");
        var foreign = Path.Combine(tmp.Path, "foreign");
        TestPaths.CopyTree(HfFixture.Dir("sequence-classification"), foreign);
        var model = BertPretrained.Load<BertForSequenceClassification>(foreign);
        BertPretrained.Save(model, own);
        var ownBefore = TestPaths.Snapshot(own);
        var foreignBefore = TestPaths.Snapshot(foreign);
        model.Dispose();

        Assert.Throws<ObjectDisposedException>(() => BertPretrained.Save(model, own));
        Assert.Throws<ObjectDisposedException>(() => BertPretrained.Save(model, foreign, new SaveOptions(Overwrite: true)));
        Assert.Throws<ObjectDisposedException>(() => BertPretrained.Save(model, Path.Combine(tmp.Path, "new")));
        Assert.Throws<ObjectDisposedException>(() => BertPretrained.StateDict(model));
        var staging = Directory.CreateDirectory(Path.Combine(tmp.Path, "staging")).FullName;
        Assert.Throws<ObjectDisposedException>(() => BertPretrained.WriteFiles(model, staging));

        TestPaths.AssertUnchanged(ownBefore, own);
        TestPaths.AssertUnchanged(foreignBefore, foreign);
        Assert.Empty(Directory.EnumerateFileSystemEntries(staging));
        Assert.Equal(["foreign", "own", "staging"], Directory.EnumerateFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_model_without_parameters_is_refused_instead_of_saved_as_an_empty_checkpoint()
    {
        using var tmp = TestPaths.TempDir();
        using var model = new NoParameters(BertConfig.Preset("tiny"));
        Assert.Empty(BertPretrained.StateDict(model));
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Save(model, Path.Combine(tmp.Path, "out")));
        Assert.Equal("NoParameters: the model has no parameters; expected weights to write to model.safetensors.", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    private sealed class NoParameters : BertPreTrainedModel
    {
        public NoParameters(BertConfig config) : base(nameof(NoParameters), config) => RegisterComponents();

        public override BertModel Bert => throw new NotSupportedException();
    }

    [Fact]
    public void Shape_mismatch_is_a_clear_error()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        var config = BertConfig.Load(Path.Combine(tmp.Path, "config.json"));
        config.NumLabels = 4;
        config.Save(Path.Combine(tmp.Path, "config.json"));
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Load<BertForSequenceClassification>(tmp.Path));
        Assert.Contains("classifier.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 64]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 64]", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>A Hub model id resolves through the (fake, local) Hub into the HF cache and loads to HF's outputs, then offline.</summary>
public sealed class HubLoadingTests : IDisposable
{
    private readonly BertSharp.Tests.Checkpoints.Hub.FakeHub _hub = new();
    private readonly TempDir _cache = TestPaths.TempDir();

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    [Fact]
    public void Hub_id_downloads_then_loads_offline()
    {
        var dir = HfFixture.Dir("sequence-classification");
        _hub.AddRepo("org/tiny-cls",
            ("config.json", File.ReadAllBytes(Path.Combine(dir, "config.json")), false),
            ("model.safetensors", File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), true),
            ("vocab.txt", File.ReadAllBytes(Path.Combine(dir, "vocab.txt")), false));
        var online = new BertSharp.Checkpoints.HubOptions { Endpoint = _hub.Endpoint, CacheDir = _cache.Path, Offline = false };
        using (var first = BertPretrained.Load<BertForSequenceClassification>("org/tiny-cls", out _, hub: online))
        {
            Assert.Equal(3, first.Config.NumLabels);
        }
        var offline = online with { Offline = true, Endpoint = "http://127.0.0.1:1" };
        using var model = BertPretrained.Load<BertForSequenceClassification>("org/tiny-cls", out var report, hub: offline);
        Assert.Empty(report.MissingKeys);
        model.eval();
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = torch.no_grad();
            var o = FixtureRunner.Run(model, refs, "", withInternals: false);
            HfFixture.AssertClose(refs["out.logits"], o["logits"], 1e-5, "logits via Hub");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }
}
