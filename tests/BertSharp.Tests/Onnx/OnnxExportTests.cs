using System.Globalization;
using BertSharp.Checkpoints;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// Export → ONNX Runtime equals BertSharp on every HF fixture case (the fixtures' own inputs, plain and fused graphs), and
/// export → import gives back the identical weights and config.
/// </summary>
public sealed class OnnxExportTests
{
    public static TheoryData<string> Cases => [.. HfFixture.CaseNames];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Onnx_runtime_runs_the_export_as_BertSharp_does_plain_and_fused(string caseName)
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir(caseName), out _);
        var reference = HfFixture.Tensors(caseName);
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        var expected = OnnxParity.TorchOutputs(model, ids, mask, types);
        long[] Flat(torch.Tensor t) => t.data<long>().ToArray();
        using var tmp = TestPaths.TempDir();
        foreach (var fused in new[] { false, true })
        {
            var path = tmp.File(fused ? "fused.onnx" : "plain.onnx");
            var summary = OnnxExport.Export(model, path, new OnnxExportOptions(Optimize: fused));
            var diff = OnnxParity.MaxDiff(path, expected, Flat(ids), Flat(mask), Flat(types), ids.shape);
            Assert.True(diff <= 1e-4, $"{caseName} ({(fused ? "fused" : "plain")}): max |ORT - BertSharp| = {diff:E2}");
            if (fused)
            {
                Assert.Equal(model.Config.NumHiddenLayers, summary.OpCounts["com.microsoft:Attention"]);
                Assert.Equal(2 * model.Config.NumHiddenLayers, summary.OpCounts["com.microsoft:SkipLayerNormalization"]);
                Assert.Equal(1, summary.OpCounts["com.microsoft:EmbedLayerNormalization"]);
                Assert.False(summary.OpCounts.ContainsKey("Softmax"));
            }
        }
        foreach (var t in reference.Values)
        {
            t.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Export_then_import_gives_identical_weights_and_config(string caseName)
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir(caseName), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("model.onnx");
        OnnxExport.Export(model, path);
        var imported = OnnxImport.Read(path);
        Assert.Equal(model.GetType().Name, imported.Architecture);
        var (a, b) = (model.Config, imported.Config);
        Assert.Equal((a.VocabSize, a.HiddenSize, a.NumHiddenLayers, a.NumAttentionHeads, a.IntermediateSize, a.MaxPositionEmbeddings, a.TypeVocabSize, a.HiddenAct, a.LayerNormEps),
            (b.VocabSize, b.HiddenSize, b.NumHiddenLayers, b.NumAttentionHeads, b.IntermediateSize, b.MaxPositionEmbeddings, b.TypeVocabSize, b.HiddenAct, b.LayerNormEps));
        var expected = BertPretrained.StateDict(model);
        var prefix = BertPreTrainedModel.BaseModelPrefix + ".";
        var got = imported.Weights.ToDictionary(kv => expected.ContainsKey(kv.Key) ? kv.Key : prefix + kv.Key, kv => kv.Value);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (key, t) in expected)
        {
            Assert.Equal(t.shape, got[key].Shape);
            Assert.True(t.data<float>().ToArray().AsSpan().SequenceEqual(got[key].Data), $"{caseName}: {key} differs after export → import");
            t.Dispose();
        }
    }

    [Fact]
    public void Multi_label_classifier_exports_its_logits_and_imports_back_with_the_problem_type_given()
    {
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"), out _,
            c => c.ProblemType = "multi_label_classification");
        var reference = HfFixture.Tensors("sequence-classification");
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("multi.onnx");
        OnnxExport.Export(model, path);
        var diff = OnnxParity.MaxDiff(path, OnnxParity.TorchOutputs(model, ids, mask, types), ids.data<long>().ToArray(),
            mask.data<long>().ToArray(), types.data<long>().ToArray(), (int)ids.shape[0], (int)ids.shape[1]);
        Assert.True(diff <= 1e-4, $"max diff {diff:E2}");
        var imported = OnnxImport.Read(path, new OnnxImportOptions(ProblemType: "multi_label_classification", Labels: new[] { "a", "b", "c" }[..model.Config.NumLabels]));
        Assert.Equal("multi_label_classification", imported.Config.ProblemType);
        Assert.Equal("a", imported.Config.Id2Label[0]);
    }

    [Fact]
    public void External_data_export_round_trips_and_runs()
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("base-model"), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("external.onnx");
        OnnxExport.Export(model, path, new OnnxExportOptions(ExternalData: true));
        // The data file is named by its content (external.onnx.HASH.data), so that no other export's graph reads it.
        Assert.Matches(@"^external\.onnx\.[0-9a-f]{16}\.data$", Assert.Single(Directory.GetFiles(tmp.Path), f => f != path).Replace(tmp.Path + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
        Assert.True(new FileInfo(path).Length < 64 * 1024, "the weights belong in the .data file");
        var imported = OnnxImport.Read(path);
        var word = imported.Weights["embeddings.word_embeddings.weight"];
        using var expected = BertPretrained.StateDict(model)["embeddings.word_embeddings.weight"];
        Assert.True(expected.data<float>().ToArray().AsSpan().SequenceEqual(word.Data));
        var reference = HfFixture.Tensors("base-model");
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        var diff = OnnxParity.MaxDiff(path, OnnxParity.TorchOutputs(model, ids, mask, types), ids.data<long>().ToArray(),
            mask.data<long>().ToArray(), types.data<long>().ToArray(), (int)ids.shape[0], (int)ids.shape[1]);
        Assert.True(diff <= 1e-4, $"max diff {diff:E2}");
    }

    [Fact]
    public void Truncated_external_data_is_refused_by_its_hash_and_data_named_by_other_tools_is_not_checked()
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("base-model"), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.Export(model, path, new OnnxExportOptions(ExternalData: true));
        var data = Assert.Single(Directory.GetFiles(tmp.Path), f => f != path);
        var named = Path.GetFileName(data)["m.onnx.".Length..^".data".Length];
        var whole = File.ReadAllBytes(data);
        File.WriteAllBytes(data, whole[..^4096]);
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(whole[..^4096]))[..16];
        var expected = $"{data}: the external data's SHA-256 begins {actual}, but its name says {named}: the file was truncated or altered after export; export the model again.";
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => OnnxImport.Read(path)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => BertSharp.Inference.OnnxBertSession.Open(path, TestTorch.OrtThreads)).Message);

        // A graph holding its weights inline, beside hashed data, is read for the data it names without copying its weights:
        // it was parsed whole (every weight copied) before ONNX Runtime parsed it again.
        var inline = tmp.File("inline.onnx");
        OnnxExport.Export(model, inline);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        OnnxExport.VerifyDataFiles(inline);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(allocated < new FileInfo(inline).Length / 4, $"{allocated:N0} bytes allocated to list the data files of a {new FileInfo(inline).Length:N0}-byte graph");

        // The same graph with its data in a file named as other tools name it (no hash) loads as before.
        File.WriteAllBytes(tmp.File("weights.bin"), whole);
        File.Delete(data);
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        foreach (var e in graph.Graph.Initializer.SelectMany(t => t.ExternalData).Where(e => e.Key == "location"))
        {
            e.Value = "weights.bin";
        }
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(graph));
        using var expectedWord = BertPretrained.StateDict(model)["embeddings.word_embeddings.weight"];
        Assert.True(expectedWord.data<float>().ToArray().AsSpan().SequenceEqual(OnnxImport.Read(path).Weights["embeddings.word_embeddings.weight"].Data));
        using var session = BertSharp.Inference.OnnxBertSession.Open(path, TestTorch.OrtThreads);

        // An offset is read as the file spells it in any host culture: "-4096" did not parse where the minus sign is U+2212,
        // and the tensor was read from the file's first byte instead of being refused.
        var shifted = graph.Graph.Initializer.First(t => t.ExternalData.Any(e => e.Key == "location"));
        var length = long.Parse(shifted.ExternalData.Single(e => e.Key == "length").Value, CultureInfo.InvariantCulture);
        shifted.ExternalData.Where(e => e.Key == "offset").ToList().ForEach(e => shifted.ExternalData.Remove(e));
        shifted.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "offset", Value = "-4096" });
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(graph));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture,
                $"{tmp.File("weights.bin")}: tensor '{shifted.Name}' needs bytes -4,096..{length - 4096:N0} but the file has {whole.Length:N0} (truncated external data)."),
            HostCulture.Run(() => Assert.Throws<BertSharpException>(() => OnnxImport.Read(path)).Message));
    }

    // A fused or int8 export read back failed only with "layer 0 has no '…query.weight' …; expected a BERT encoder graph as
    // PyTorch exports it", which did not say that the graph's form (its own export's) was the reason.
    [Fact]
    public void A_fused_or_quantized_graph_is_refused_naming_its_runtime_operators()
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("base-model"), out _);
        using var tmp = TestPaths.TempDir();
        foreach (var (options, ops) in new[]
        {
            (new OnnxExportOptions(Optimize: true), "Attention, EmbedLayerNormalization, SkipLayerNormalization"),
            (new OnnxExportOptions(QuantizeInt8: true), "DynamicQuantizeMatMul"),
        })
        {
            var path = tmp.File($"{ops.Length}.onnx");
            OnnxExport.Export(model, path, options);
            Assert.Equal($"{path}: layer 0 has no 'encoder.layer.0.attention.self.query.weight' (neither a named initializer nor a MatMul followed by an Add of its named bias); " +
                $"expected a BERT encoder graph as PyTorch exports it, not a graph fused or quantized for ONNX Runtime (its {ops} operators); import the float graph it was made from.",
                Assert.Throws<BertSharpException>(() => OnnxImport.Read(path)).Message);
        }
    }

    // A num_heads, layer_norm_eps or hidden_act the caller gave was taken over the graph's own: 8 heads for a graph that splits
    // into 4 imported, without an error, a model with other outputs.
    [Fact]
    public void Config_values_given_for_an_import_must_agree_with_the_graph()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.Export(HfFixture.Dir("act-gelu_new"), path);
        string Refusal(OnnxImportOptions o) => Assert.Throws<BertSharpException>(() => OnnxImport.Read(path, o)).Message;
        Assert.Equal($"{path}: num_heads 8 contradicts the graph: 4 attention heads of size 16 (reshape constants after the query projection); " +
            "expected the graph's value, or none.", Refusal(new OnnxImportOptions(NumAttentionHeads: 8)));
        Assert.Equal($"{path}: layer_norm_eps 1E-05 contradicts the graph: LayerNorm eps 1E-12 (LayerNormalization epsilon); expected the graph's value, or none.",
            Refusal(new OnnxImportOptions(LayerNormEps: 1e-5)));
        Assert.StartsWith($"{path}: hidden_act relu contradicts the graph: hidden_act gelu_new (", Refusal(new OnnxImportOptions(HiddenAct: "relu")));
        // A name is taken as HF's ACT2FN takes it, as written, and refused as such before the graph is asked: RELU was said to
        // contradict the graph, and GELU_NEW agreed with it up to case, to be refused only as the config was checked.
        Assert.All(new[] { "RELU", "GELU_NEW", " gelu_new" }, name => Assert.Equal(
            $"{path}: hidden_act '{name}' is not supported; expected one of {string.Join(", ", BertConfig.SupportedActivations)}.",
            Refusal(new OnnxImportOptions(HiddenAct: name))));
        // Named as the option it was given in, which the CLI renders as its flag.
        Assert.StartsWith($"{path}: --hidden-act 'RELU' is not supported;",
            Assert.Throws<BertSharpException>(() => OnnxImport.Read(path, new OnnxImportOptions(HiddenAct: "RELU"))).Render(Cli.CliErrors.FlagOf));
        var agreeing = OnnxImport.Read(path, new OnnxImportOptions(NumAttentionHeads: 4, LayerNormEps: 1e-12, HiddenAct: "gelu_pytorch_tanh"));
        Assert.Equal((4, 1e-12, "gelu_pytorch_tanh"), (agreeing.Config.NumAttentionHeads, agreeing.Config.LayerNormEps, agreeing.Config.HiddenAct));

        // What the graph does not tell is taken as given: an activation written as an op the import does not know.
        var relu = tmp.File("relu.onnx");
        OnnxExport.Export(HfFixture.Dir("act-relu"), relu);
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(relu));
        foreach (var n in graph.Graph.Node.Where(n => n.OpType == "Relu"))
        {
            n.OpType = "Elu";
        }
        File.WriteAllBytes(relu, Google.Protobuf.MessageExtensions.ToByteArray(graph));
        Assert.StartsWith($"{relu}: cannot derive the FFN activation", Assert.Throws<BertSharpException>(() => OnnxImport.Read(relu)).Message);
        var given = OnnxImport.Read(relu, new OnnxImportOptions(HiddenAct: "relu"));
        Assert.Equal("relu", given.Config.HiddenAct);
        Assert.Contains("hidden_act relu (given; the graph does not tell)", given.Notes);
    }

    // Label names were written as given: a repeated or empty one made a model that TextClassifier.Load then refused. The
    // refusal names the class, by the rule token classification's tag lists follow (a null entry is not said to be empty).
    [Fact]
    public void Label_names_given_for_an_import_are_distinct_and_not_empty()
    {
        using var tmp = TestPaths.TempDir();
        var classifier = tmp.File("classifier.onnx");
        OnnxExport.Export(HfFixture.Dir("sequence-classification"), classifier);
        foreach (var (labels, fault) in new (string[], string)[]
                 {
                     (["a", "a", "b"], "classes \"0\" and \"1\" are both named \"a\""),
                     (["a", "", "b"], "the name of class \"1\" is empty"),
                     (["a", "b", " "], "the name of class \"2\" is white space only"),
                     (["a", null!, "b"], "the name of class \"1\" is null"),
                 })
        {
            Assert.Equal($"{classifier}: labels {string.Join(",", labels)}: {fault}; expected 3 distinct, non-empty names, one per class.",
                Assert.Throws<BertSharpException>(() => OnnxImport.Read(classifier, new OnnxImportOptions(Labels: labels))).Message);
        }
        Assert.Equal("c", OnnxImport.Read(classifier, new OnnxImportOptions(Labels: ["a", "b", "c"])).Config.Id2Label[2]);
    }

    [Fact]
    public void An_activation_without_an_onnx_form_is_refused_in_the_library_s_words_and_nothing_is_written()
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("base-model"), out _);
        // BertConfig refuses an unknown hidden_act when read; one set afterwards reaches the exporter.
        model.Config.HiddenAct = "mish";
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        // It began "export-onnx: ", the CLI's command, for library users too.
        Assert.Equal("ONNX export: hidden_act 'mish' has no ONNX form here.", Assert.Throws<BertSharpException>(() => OnnxExport.Export(model, path)).Message);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void Multiple_choice_export_takes_batch_choices_sequence_inputs_and_gives_batch_choices_logits()
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("multiple-choice"), out _);
        var reference = HfFixture.Tensors("multiple-choice");
        var ids = reference["in.input_ids"];
        Assert.Equal(3, ids.dim());
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("mc.onnx");
        OnnxExport.Export(model, path);
        using var session = BertSharp.Inference.OnnxBertSession.Open(path, TestTorch.OrtThreads);
        long[] Flat(torch.Tensor t) => t.data<long>().ToArray();
        var (logits, shape) = session.Run(Flat(ids), Flat(reference["in.attention_mask"]), Flat(reference["in.token_type_ids"]), ids.shape, "logits");
        Assert.Equal(new[] { ids.shape[0], ids.shape[1] }, shape);
        // HF's recorded logits, not only BertSharp's: the export is checked against the independent reference too.
        var hf = reference["out.logits"].data<float>().ToArray();
        Assert.Equal(hf.Length, logits.Length);
        for (var i = 0; i < hf.Length; i++)
        {
            Assert.True(Math.Abs(hf[i] - logits[i]) <= 1e-4, $"logit {i}: ORT {logits[i]} vs HF {hf[i]}");
        }
    }
}
