using BertSharp.Checkpoints.Onnx;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Google.Protobuf;

namespace BertSharp.Tests.Onnx;

/// <summary>The ONNX Runtime backend gives what the TorchSharp backend gives: same labels, probabilities and embeddings.</summary>
public sealed class OnnxBackendTests
{
    [Fact]
    public void Classifier_backends_agree_on_sst2_sentences()
    {
        // 1,000 SST-2 training sentences from ../shared, else the 872 bundled dev sentences.
        var sharedTrain = TestPaths.Shared is { } s ? Path.Combine(s, "data", "glue_sst2", "train.tsv") : null;
        var path = sharedTrain is not null && File.Exists(sharedTrain) ? sharedTrain : Path.Combine(TestPaths.RepoRoot, "samples", "sst2", "dev.tsv");
        var texts = DatasetReader.Read(path, TaskSpec.Get("sst2")).Examples.Take(1000).Select(e => (e.Text, (string?)null)).ToList();
        var dir = HfFixture.Dir("sequence-classification");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(dir, onnx);
        using var torchBackend = TextClassifier.Load(dir, "cpu");
        using var ortBackend = TextClassifier.Load(dir, new InferenceBackend(onnx, TestTorch.OrtThreads));
        Assert.NotNull(ortBackend.OnnxSession);
        var expected = torchBackend.Predict(texts);
        var actual = ortBackend.Predict(texts);
        Assert.True(texts.Count >= 872);
        double maxDiff = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            Assert.Equal(expected[i].Label, actual[i].Label);
            for (var k = 0; k < expected[i].Probabilities.Count; k++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[i].Probabilities[k] - actual[i].Probabilities[k]));
            }
        }
        Assert.True(maxDiff <= 1e-6, $"max probability difference {maxDiff:E2}");
        // The fixture's head is untrained, but its scores vary by sentence: the comparison is not between constant answers.
        Assert.True(expected.Select(p => Math.Round(p.Score, 4)).Distinct().Count() > texts.Count / 10);
    }

    [Fact]
    public void Zero_shot_backends_agree_in_single_and_multi_label_scoring()
    {
        using var nli = Inference.CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(nli.Path, onnx);
        using var torchBackend = ZeroShotClassifier.Load(nli.Path, "cpu");
        using var ortBackend = ZeroShotClassifier.Load(nli.Path, new InferenceBackend(onnx, TestTorch.OrtThreads));
        Assert.NotNull(ortBackend.Classifier.OnnxSession);
        // A text over the model's 64 tokens too: only it is cut, on both backends.
        string[] texts = ["the cat sat on the table .", "the pound rose against the dollar .", string.Join(' ', Enumerable.Repeat("the cat sat .", 30))];
        string[] labels = ["music", "film", "school", "drama"];
        foreach (var multiLabel in new[] { false, true })
        {
            var expected = torchBackend.Classify(texts, labels, multiLabel: multiLabel);
            var actual = ortBackend.Classify(texts, labels, multiLabel: multiLabel);
            for (var i = 0; i < texts.Length; i++)
            {
                Assert.Equal(expected[i].Labels, actual[i].Labels);
                Assert.Equal(expected[i].Scores, actual[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5);
            }
            // The scores vary by label: the comparison is not between constant answers.
            Assert.True(expected[0].Scores[0] - expected[0].Scores[^1] > 0.01, string.Join(", ", expected[0].Scores));
        }
    }

    [Fact]
    public void Rerank_backends_agree_and_give_hfs_logits()
    {
        using var ce = Inference.CrossEncoderFixture.Temp();
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(ce.Path, onnx);
        using var torchBackend = CrossEncoder.Load(ce.Path, "cpu");
        using var ortBackend = CrossEncoder.Load(ce.Path, new InferenceBackend(onnx, TestTorch.OrtThreads));
        Assert.NotNull(ortBackend.Classifier.OnnxSession);
        // The fixture's pairs, whose logits HF computed, and a pair over the model's 64 tokens, cut on both backends.
        var pairs = Inference.CrossEncoderFixture.Pairs.Append(("the cat sat .", string.Join(' ', Enumerable.Repeat("the cat sat on the table .", 20)))).ToList();
        var hf = Inference.CrossEncoderFixture.HfLogits();
        foreach (var raw in new[] { true, false })
        {
            var expected = torchBackend.Predict(pairs, rawScores: raw);
            var actual = ortBackend.Predict(pairs, rawScores: raw);
            Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) <= 1e-5);
            for (var r = 0; r < hf.Length; r++)
            {
                Assert.Equal(raw ? hf[r] : Inference.CrossEncoderFixture.Sigmoid(hf[r]), actual[r], 1e-3);
            }
        }
        // The ranking of the texts under one query follows the scores on both backends.
        string[] texts = [.. pairs.Select(p => p.Item2)];
        Assert.Equal(torchBackend.Rank("The cat sat.", texts).Select(r => r.Index), ortBackend.Rank("The cat sat.", texts).Select(r => r.Index));
    }

    // bert serve --backend onnxruntime answers /rerank from the classifier it loads on ONNX Runtime.
    [Fact]
    public void A_served_cross_encoder_reranks_on_onnx_runtime()
    {
        using var ce = Inference.CrossEncoderFixture.Temp();
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(ce.Path, onnx);
        using var served = BertSharp.Server.ServedModel.Load(ce.Path, "cpu", null, new InferenceBackend(onnx, TestTorch.OrtThreads));
        var reranker = served.Reranker!;
        Assert.NotNull(reranker.Classifier.OnnxSession);
        var hf = Inference.CrossEncoderFixture.HfLogits();
        var scores = reranker.Scores(Inference.CrossEncoderFixture.Pairs, rawScores: true, batchSize: 8, truncation: null);
        Assert.Equal(hf, scores, (a, b) => Math.Abs(a - b) <= 1e-3);
    }

    [Fact]
    public void A_disposed_session_and_the_pipelines_over_it_refuse_to_run()
    {
        var dir = HfFixture.Dir("sequence-classification");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(dir, onnx);
        var backend = new InferenceBackend(onnx, TestTorch.OrtThreads);
        long[] ids = [2, 5, 6, 3], mask = [1, 1, 1, 1], types = [0, 0, 0, 0];

        var session = OnnxBertSession.Open(onnx, TestTorch.OrtThreads);
        Assert.Equal([1L, 3L], session.Run(ids, mask, types, 1, 4, "logits").Shape);
        session.Dispose();
        session.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Run(ids, mask, types, 1, 4, "logits"));

        var classifier = TextClassifier.Load(dir, backend);
        Assert.Equal(3, classifier.Predict("a fine film").Probabilities.Count);
        classifier.Dispose();
        classifier.Dispose();
        Assert.Throws<ObjectDisposedException>(() => classifier.Predict("a fine film"));

        var features = FeatureExtraction.Load(dir, backend);
        Assert.Equal(features.Dimension, features.Embed(["a fine film"])[0].Length);
        features.Dispose();
        features.Dispose();
        Assert.Throws<ObjectDisposedException>(() => features.Embed(["a fine film"]));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    // docs/onnx.md showed new InferenceBackend("model.onnx"), which is looked for in the current directory, not in dir; the
    // refusal said only "model.onnx: ONNX model not found".
    [Fact]
    public void A_relative_onnx_path_that_is_missing_is_named_with_where_it_was_looked_for()
    {
        var dir = HfFixture.Dir("sequence-classification");
        Assert.False(File.Exists("model.onnx"));
        var e = Assert.Throws<BertSharpException>(() => TextClassifier.Load(dir, new InferenceBackend("model.onnx")));
        Assert.Equal($"model.onnx: ONNX model not found at {Path.GetFullPath("model.onnx")} (a relative path is relative to the current directory); " +
            "write one with OnnxExport.Export.", e.Message);
        var absolute = Path.Combine(dir, "model.onnx");
        Assert.Equal($"{absolute}: ONNX model not found; write one with OnnxExport.Export.",
            Assert.Throws<BertSharpException>(() => FeatureExtraction.Load(dir, new InferenceBackend(absolute))).Message);
        // The model directory given as the graph is there, but is no graph.
        Assert.Equal($"{dir}: is a directory; expected an ONNX model file (e.g. model.onnx in it).",
            Assert.Throws<BertSharpException>(() => OnnxBertSession.Open(dir)).Message);
    }

    // A multiple-choice export ([batch, choices, seq] inputs) failed at the first Run with ORT's "Invalid rank for input:
    // input_ids" (bert predict/embed: internal error, exit 70), though every export is said to serve embeddings.
    [Fact]
    public void A_multiple_choice_graph_serves_embeddings_and_is_refused_as_a_classifier()
    {
        var dir = HfFixture.Dir("multiple-choice");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("mc.onnx");
        OnnxExport.Export(dir, onnx);
        var backend = new InferenceBackend(onnx, TestTorch.OrtThreads);
        string[] texts = ["a fine film", "the plot , though , goes nowhere at all"];
        var options = new FeatureExtractionOptions(Pooling.Mean);
        using (var torchPipe = FeatureExtraction.Load(dir))
        using (var ortPipe = FeatureExtraction.Load(dir, backend))
        {
            var expected = torchPipe.Embed(texts, options);
            var actual = ortPipe.Embed(texts, options);
            for (var i = 0; i < texts.Length; i++)
            {
                Assert.True(expected[i].Zip(actual[i]).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4, $"text {i}");
            }
        }
        var e = Assert.Throws<BertSharpException>(() => TextClassifier.Load(HfFixture.Dir("sequence-classification"), backend));
        Assert.StartsWith($"{onnx}: the graph's inputs are [batch, choices, sequence] (a multiple-choice export); expected [batch, sequence]", e.Message);
    }

    // A model refused after its graph was opened (labels that are not an NLI model's or a cross-encoder's, a graph of another
    // head) must release the session, or the graph's weights stay in native memory for as long as the process runs.
    [Fact]
    public void A_model_refused_after_its_graph_was_opened_leaves_no_session_open()
    {
        var dir = HfFixture.Dir("sequence-classification");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(dir, onnx);
        var backend = new InferenceBackend(onnx, TestTorch.OrtThreads);
        using (var classifier = TextClassifier.Load(dir, backend))
        {
            Assert.Equal(1, OnnxBertSession.OpenSessions(onnx));
        }
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));

        // The fixture's three labels LABEL_0..2: no entailment label for zero-shot, not the one logit of a cross-encoder.
        Assert.Contains(": no entailment label;", Assert.Throws<BertSharpException>(() => ZeroShotClassifier.Load(dir, backend)).Message, StringComparison.Ordinal);
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
        Assert.Contains(": a cross-encoder scores each pair with one logit;", Assert.Throws<BertSharpException>(() => CrossEncoder.Load(dir, backend)).Message,
            StringComparison.Ordinal);
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));

        // A multiple-choice graph opens, then is refused for the classifier, predicted or served.
        var mc = tmp.File("mc.onnx");
        OnnxExport.Export(HfFixture.Dir("multiple-choice"), mc);
        var mcBackend = new InferenceBackend(mc, TestTorch.OrtThreads);
        Assert.Throws<BertSharpException>(() => TextClassifier.Load(dir, mcBackend));
        Assert.Equal(0, OnnxBertSession.OpenSessions(mc));
        Assert.Throws<BertSharpException>(() => BertSharp.Server.ServedModel.Load(dir, "cpu", null, mcBackend));
        Assert.Equal(0, OnnxBertSession.OpenSessions(mc));
    }

    // Token ids beyond the graph's vocabulary (a graph exported from another model) came out of ORT's Run unwrapped: the CLI
    // printed ORT's coloured log line and 'internal error (OnnxRuntimeException)', exit 70.
    [Fact]
    public void A_run_that_ort_refuses_is_one_error_naming_the_graph()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(HfFixture.Dir("sequence-classification"), onnx);
        using var session = OnnxBertSession.Open(onnx, TestTorch.OrtThreads);
        long[] mask = [1, 1, 1], types = [0, 0, 0];
        Assert.Equal([1L, 3L], session.Run([2, 5, 3], mask, types, 1, 3, "logits").Shape);
        // The fixture's vocabulary has 512 word pieces.
        var e = Assert.Throws<BertSharpException>(() => session.Run([2, 1037, 3], mask, types, 1, 3, "logits"));
        Assert.StartsWith($"{onnx}: ONNX Runtime cannot run the graph on these inputs (", e.Message);
        Assert.Contains("1037", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    // Inputs are fed as int64: an int32 input_ids graph opened, then every Run failed inside ORT.
    [Fact]
    public void A_graph_whose_inputs_are_not_int64_is_refused_when_opened()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(HfFixture.Dir("sequence-classification"), onnx);
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        model.Graph.Input.Single(i => i.Name == "input_ids").Type.TensorType.ElemType = (int)global::Onnx.TensorProto.Types.DataType.Int32;
        var int32 = tmp.File("int32.onnx");
        File.WriteAllBytes(int32, model.ToByteArray());
        var e = Assert.Throws<BertSharpException>(() => OnnxBertSession.Open(int32, TestTorch.OrtThreads));
        Assert.Equal($"{int32}: graph input 'input_ids' is int32 of rank 2; expected int64 [batch, sequence] (or [batch, choices, sequence]) " +
            "as torch.onnx.export writes BERT's inputs.", e.Message);
    }

    // bert serve --backend onnxruntime on a classifier opened its graph twice (for /v1/classify and for /v1/embed), holding
    // every weight twice in memory.
    [Fact]
    public void A_served_classifier_shares_its_onnx_session_with_its_embeddings()
    {
        var dir = HfFixture.Dir("sequence-classification");
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(dir, onnx);
        var served = BertSharp.Server.ServedModel.Load(dir, "cpu", null, new InferenceBackend(onnx, TestTorch.OrtThreads));
        var session = served.Classifier!.OnnxSession;
        Assert.NotNull(session);
        Assert.Same(session, served.Features.OnnxSession);
        Assert.Equal(served.Features.Dimension, served.Features.Embed(["a fine film"])[0].Length);
        Assert.Equal(3, served.Classifier.Predict("a fine film").Probabilities.Count);
        served.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Run([2, 5, 3], [1, 1, 1], [0, 0, 0], 1, 3, "logits"));
    }

    [Fact]
    public void Embedding_backends_agree_on_the_real_model_for_the_original_and_the_exported_graphs()
    {
        var texts = MiniLm.Sentences(sst2: 48, imdb: 16);
        var options = new FeatureExtractionOptions(Pooling.Mean, Normalize: true, MaxLength: 128);
        using var torchPipe = FeatureExtraction.Load(MiniLm.Imported);
        var expected = torchPipe.Embed(texts, options);
        var exported = Path.Combine(MiniLm.Scratch("backend"), "fused.onnx");
        OnnxExport.Export(MiniLm.Imported, exported, new OnnxExportOptions(Optimize: true));
        foreach (var graph in new[] { MiniLm.OriginalOnnx, exported })
        {
            using var ortPipe = FeatureExtraction.Load(MiniLm.Imported, new InferenceBackend(graph, TestTorch.OrtThreads));
            var actual = ortPipe.Embed(texts, options);
            for (var i = 0; i < texts.Count; i++)
            {
                var cos = MiniLmImportTests.Cosine([.. expected[i].Select(v => (double)v)], [.. actual[i].Select(v => (double)v)]);
                Assert.True(cos >= 0.99999, $"{Path.GetFileName(graph)} text {i}: cosine {cos:F7}");
                Assert.True(expected[i].Zip(actual[i]).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4);
            }
        }
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Int8_quantized_real_model_stays_close_to_float()
    {
        var texts = MiniLm.Sentences(sst2: 64, imdb: 0);
        var options = new FeatureExtractionOptions(Pooling.Mean, Normalize: true);
        var int8 = Path.Combine(MiniLm.Scratch("int8"), "int8.onnx");
        var summary = OnnxExport.Export(MiniLm.Imported, int8, new OnnxExportOptions(QuantizeInt8: true));
        // 6 layers × 6 Linear layers + the pooler.
        Assert.Equal(37, summary.QuantizedMatMuls);
        Assert.True(summary.Bytes < 0.7 * new FileInfo(Path.Combine(MiniLm.Imported, "model.safetensors")).Length);
        using var torchPipe = FeatureExtraction.Load(MiniLm.Imported);
        using var ortPipe = FeatureExtraction.Load(MiniLm.Imported, new InferenceBackend(int8, TestTorch.OrtThreads));
        var expected = torchPipe.Embed(texts, options);
        var actual = ortPipe.Embed(texts, options);
        var cosines = expected.Zip(actual, (a, b) => MiniLmImportTests.Cosine([.. a.Select(v => (double)v)], [.. b.Select(v => (double)v)])).ToList();
        Assert.True(cosines.Min() > 0.95, $"lowest cosine int8 vs float: {cosines.Min():F4}");
        Assert.True(cosines.Min() < 0.99999, "the int8 graph should not be the float graph");
    }
}
