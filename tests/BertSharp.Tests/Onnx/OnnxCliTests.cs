using BertSharp.Checkpoints;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary><c>bert export-onnx</c>, <c>bert convert x.onnx</c>, the backends on the command line, and every bad ONNX input.</summary>
public sealed class OnnxCliTests
{
    private static readonly string Classifier = HfFixture.Dir("sequence-classification");

    [Fact]
    public void Export_then_convert_on_the_command_line_gives_back_the_same_model()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        var export = CliRunner.Run("export-onnx", Classifier, onnx, "--optimize");
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.Contains("2 × Attention", export.StdOut, StringComparison.Ordinal);
        // The graph's and the output's paths are shown as data: their escape drove the terminal, U+202E reversed the line.
        var plain = tmp.File("pla\u001b[31min\u202e.onnx");
        var exported = CliRunner.Run("export-onnx", "--model", Classifier, "--output", plain);
        Assert.True(exported.ExitCode == 0, exported.StdErr);
        Assert.StartsWith($"BertForSequenceClassification → {tmp.File("pla\\x1b[31min\\u202e.onnx")} (", exported.StdOut, StringComparison.Ordinal);
        File.Copy(Path.Combine(Classifier, "vocab.txt"), tmp.File("vo\u001b[31mcab.txt"));
        var convert = CliRunner.Run("convert", plain, tmp.File("ba\u001b[31mck"), "--vocab", tmp.File("vo\u001b[31mcab.txt"));
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        Assert.StartsWith($"{tmp.File("pla\\x1b[31min\\u202e.onnx")}: ONNX opset ", convert.StdOut, StringComparison.Ordinal);
        Assert.Contains($"\n  vocabulary {tmp.File("vo\\x1b[31mcab.txt")} (", convert.StdOut, StringComparison.Ordinal);
        Assert.EndsWith($" parameters → {tmp.File("ba\\x1b[31mck")}/model.safetensors", convert.StdOut.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain(exported.StdOut + convert.StdOut, c => c is '\u001b' or '\u202e');
        // What the graph gave a config field is said by the field's name, not by the flag that would have set it.
        Assert.Contains("\n  hidden_act gelu (", convert.StdOut, StringComparison.Ordinal);
        var texts = new[] { ("a tender , heartfelt family drama .", (string?)null), ("us love they .", null) };
        using var original = TextClassifier.Load(Classifier, "cpu");
        using var back = TextClassifier.Load(tmp.File("ba\u001b[31mck"), "cpu");
        var (a, b) = (original.Predict(texts), back.Predict(texts));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(a[i].Probabilities, b[i].Probabilities);
        }
    }

    [Fact]
    public void Predict_embed_zero_shot_and_rerank_take_the_onnxruntime_backend()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        Assert.Equal(0, CliRunner.Run("export-onnx", Classifier, onnx).ExitCode);
        const string text = "a tender , heartfelt family drama .";
        var torch = CliRunner.Run("predict", "--model", Classifier, "--text", text);
        var ort = CliRunner.Run("predict", "--model", Classifier, "--text", text, "--backend", "onnxruntime", "--onnx", onnx);
        Assert.True(ort.ExitCode == 0, ort.StdErr);
        Assert.Equal(torch.StdOut, ort.StdOut);

        File.WriteAllLines(tmp.File("texts.txt"), [text, "unflinchingly bleak and desperate"]);
        var torchEmbed = CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("texts.txt"), "--output", tmp.File("torch.jsonl"), "--pooling", "mean", "--normalize");
        var ortEmbed = CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("texts.txt"), "--output", tmp.File("ort.jsonl"), "--pooling", "mean", "--normalize",
            "--backend", "onnxruntime", "--onnx", onnx);
        Assert.True(torchEmbed.ExitCode == 0 && ortEmbed.ExitCode == 0, torchEmbed.StdErr + ortEmbed.StdErr);
        var t = File.ReadAllLines(tmp.File("torch.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["embedding"]!.AsArray().Select(v => (double)v!).ToArray()).ToList();
        var o = File.ReadAllLines(tmp.File("ort.jsonl")).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["embedding"]!.AsArray().Select(v => (double)v!).ToArray()).ToList();
        // One row per text from each backend: with fewer, the comparison below passed over the texts left out.
        Assert.Equal(2, t.Count);
        Assert.Equal(2, o.Count);
        for (var i = 0; i < t.Count; i++)
        {
            Assert.True(t[i].Zip(o[i]).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4);
        }

        // zero-shot of an NLI model: the same labels in the same order with the same scores (to the 4 decimals shown).
        using var nli = Inference.CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        OnnxExport.Export(nli.Path, tmp.File("nli.onnx"));
        string[] zeroShot = ["zero-shot", "--model", nli.Path, "--text", "the cat sat on the table .", "--labels", "music,film,school,drama", "--multi-label"];
        var torchZeroShot = CliRunner.Run(zeroShot);
        var ortZeroShot = CliRunner.Run([.. zeroShot, "--backend", "onnxruntime", "--onnx", tmp.File("nli.onnx")]);
        Assert.True(torchZeroShot.ExitCode == 0 && ortZeroShot.ExitCode == 0, torchZeroShot.StdErr + ortZeroShot.StdErr);
        Assert.Equal(5, torchZeroShot.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(torchZeroShot.StdOut, ortZeroShot.StdOut);
        // The same output could come from TorchSharp alone: without --onnx the backend looks for the graph beside the model.
        var noGraph = CliRunner.Run([.. zeroShot, "--backend", "onnxruntime"]);
        Assert.Equal(2, noGraph.ExitCode);
        Assert.Contains(Path.Combine(nli.Path, "model.onnx"), noGraph.StdErr, StringComparison.Ordinal);

        // rerank of a one-label cross-encoder: the same order with the same logits (to the 4 decimals shown).
        using var ce = Inference.CrossEncoderFixture.Temp();
        OnnxExport.Export(ce.Path, tmp.File("ce.onnx"));
        string[] rerank = ["rerank", "--model", ce.Path, "--query", "The cat sat.", "--raw-scores", .. Inference.CrossEncoderFixture.Pairs.SelectMany(p => new[] { "--text", p.Pair })];
        var torchRerank = CliRunner.Run(rerank);
        var ortRerank = CliRunner.Run([.. rerank, "--backend", "onnxruntime", "--onnx", tmp.File("ce.onnx")]);
        Assert.True(torchRerank.ExitCode == 0 && ortRerank.ExitCode == 0, torchRerank.StdErr + ortRerank.StdErr);
        Assert.Equal(1 + Inference.CrossEncoderFixture.Pairs.Count, torchRerank.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(torchRerank.StdOut, ortRerank.StdOut);
        var noCrossEncoderGraph = CliRunner.Run([.. rerank, "--backend", "onnxruntime"]);
        Assert.Equal(2, noCrossEncoderGraph.ExitCode);
        Assert.Contains(Path.Combine(ce.Path, "model.onnx"), noCrossEncoderGraph.StdErr, StringComparison.Ordinal);

        var missing = CliRunner.Run("predict", "--model", Classifier, "--text", text, "--backend", "onnxruntime");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("model.onnx", missing.StdErr, StringComparison.Ordinal);
        Assert.Contains("export-onnx", missing.StdErr, StringComparison.Ordinal);
    }

    // --eval-data's labels were checked, and the classifier loaded, after the int8 graph was written: labels the model
    // lacks or a model that is no sequence classifier failed (exit 2) with the new .onnx left behind.
    [Fact]
    public void A_quantized_export_measures_accuracy_and_refuses_eval_data_before_writing_the_graph()
    {
        using var tmp = TestPaths.TempDir();
        var data = tmp.File("eval.tsv");
        string[] texts = ["a tender , heartfelt family drama .", "unflinchingly bleak and desperate", "us love they .", "a fine film"];
        // Class ids, as the fixture's id2label holds HF's default names (LABEL_0 …): they were refused as unknown labels.
        string[] labels = ["0", "1", "2", "0"];
        File.WriteAllLines(data, ["text\tlabel", .. texts.Zip(labels, (t, l) => $"{t}\t{l}")]);
        var onnx = tmp.File("int8.onnx");
        CliRunner.Run("export-onnx", Classifier, onnx, "--quantize", "int8", "--eval-data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--task", "sst2")
            .AssertOneLineError("sst2_train.tsv line 2: field 'label' has label '", "expected one of LABEL_0, LABEL_1, LABEL_2.");
        Assert.False(File.Exists(onnx));
        CliRunner.Run("export-onnx", HfFixture.Dir("token-classification"), onnx, "--quantize", "int8", "--eval-data", data, "--task", "tsv")
            .AssertOneLineError("--eval-data: accuracy needs a single-label classifier; ", "is exported as BertForTokenClassification, expected BertForSequenceClassification.");
        CliRunner.Run("export-onnx", Classifier, onnx, "--quantize", "int8", "--eval-data", data, "--task", "tsv", "--architecture", "BertModel")
            .AssertOneLineError("is exported as BertModel, expected BertForSequenceClassification.");
        // What only describes or measures --eval-data did nothing without it, silently.
        CliRunner.Run("export-onnx", Classifier, onnx, "--quantize", "int8", "--threads", "2")
            .AssertOneLineError("error: --threads: only with --eval-data (the ONNX Runtime threads that measure its accuracy).");
        CliRunner.Run("export-onnx", Classifier, onnx, "--task", "tsv", "--label-column", "y")
            .AssertOneLineError("error: --task: only with --eval-data (it describes that file).");
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.onnx"));

        // The classifier with weight 128 from the pooler's first unit to every label: its float logits are the fixture's plus
        // the same 128·h for each label, so float32 picks what the fixture picks; int8's scale for each label's column,
        // 128/127, rounds every other weight of the column to 0, which leaves the same logit for each label but its bias,
        // whose largest is LABEL_1's (0.165 against 0.089 and -0.012). So int8 answers LABEL_1 for every row, and the int8
        // accuracy is the share of rows labelled 1, whatever float32's is.
        var model = tmp.File("outlier");
        TestPaths.CopyTree(Classifier, model);
        var weights = SafeTensors.Load(Path.Combine(model, "model.safetensors"));
        try
        {
            using (var fromFirstUnit = weights["classifier.weight"].select(1, 0))
            {
                fromFirstUnit.fill_(StableScalars.Of(128.0));
            }
            SafeTensors.Save(Path.Combine(model, "model.safetensors"), weights);
        }
        finally
        {
            HfFixture.DisposeAll(weights);
        }
        // The evaluation data's path is shown as data: its escape drove the terminal.
        File.Move(data, tmp.File("ev\u001b[31mal.tsv"));
        var run = CliRunner.Run("export-onnx", model, onnx, "--quantize", "int8", "--eval-data", tmp.File("ev\u001b[31mal.tsv"), "--task", "tsv", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("field 'id2label' holds HF's default names (LABEL_0, LABEL_1, LABEL_2)", run.StdErr, StringComparison.Ordinal);
        var rows = texts.Select(t => (t, (string?)null)).ToList();
        int right;
        using (var torch = TextClassifier.Load(model, "cpu"))
        {
            right = torch.Predict(rows).Zip(labels).Count(p => p.First.LabelId.ToString(System.Globalization.CultureInfo.InvariantCulture) == p.Second);
        }
        using (var int8 = TextClassifier.Load(model, new InferenceBackend(onnx, TestTorch.OrtThreads)))
        {
            Assert.All(int8.Predict(rows), p => Assert.Equal(1, p.LabelId));
        }
        var int8Right = labels.Count(l => l == "1");
        Assert.NotEqual(right, int8Right);
        string Percent(int n) => (100.0 * n / texts.Length).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"accuracy on {tmp.File("ev\\x1b[31mal.tsv")} (4 examples): float32 {Percent(right)} %, int8 {Percent(int8Right)} %, " +
            $"change {(int8Right >= right ? "+" : "-")}{Percent(Math.Abs(int8Right - right))} points\n", run.StdOut, StringComparison.Ordinal);
        Assert.True(File.Exists(onnx));
    }

    [Fact]
    public void External_data_altered_after_export_is_refused_by_predict_and_convert_naming_both_hashes()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        Assert.Equal(0, CliRunner.Run("export-onnx", Classifier, onnx, "--external-data").ExitCode);
        var data = Assert.Single(Directory.GetFiles(tmp.Path, "model.onnx.*.data"));
        var named = Path.GetFileName(data)["model.onnx.".Length..^".data".Length];
        var bytes = File.ReadAllBytes(data);
        Assert.Equal(named, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16]);
        bytes[bytes.Length / 2] ^= 0x40; // one weight's exponent bit: the graph still loads, with another weight
        File.WriteAllBytes(data, bytes);
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
        var expected = $"{data}: the external data's SHA-256 begins {actual}, but its name says {named}: the file was truncated or altered after export; export the model again.";
        CliRunner.Run("predict", "--model", Classifier, "--text", "a fine film", "--backend", "onnxruntime", "--onnx", onnx).AssertOneLineError(expected);
        CliRunner.Run("convert", onnx, tmp.File("back"), "--vocab", Path.Combine(Classifier, "vocab.txt")).AssertOneLineError(expected);
        Assert.False(Directory.Exists(tmp.File("back")));
    }

    [Fact]
    public void A_graph_of_another_head_is_refused_and_a_multiple_choice_model_does_not_ignore_the_backend()
    {
        using var tmp = TestPaths.TempDir();
        // A token-classification graph's logits are [batch, seq, 5]; read as the classifier's it used to end in an index error.
        var tagger = tmp.File("tagger.onnx");
        Assert.Equal(0, CliRunner.Run("export-onnx", HfFixture.Dir("token-classification"), tagger).ExitCode);
        var r = CliRunner.Run("predict", "--model", Classifier, "--text", "a fine film", "--backend", "onnxruntime", "--onnx", tagger);
        Assert.Equal(2, r.ExitCode);
        Assert.Matches(
            $@"^error: {System.Text.RegularExpressions.Regex.Escape(tagger)}: output 'logits' is \[[^,\]]+, [^,\]]+, 5\]; expected \[batch, 3\] \(one logit per label of .*: LABEL_0, LABEL_1, LABEL_2\)\. Was the graph exported from another model or head\?$",
            r.StdErr.Trim());

        // A multiple-choice model runs on TorchSharp only; it used to answer with TorchSharp whatever --backend said.
        string[] choices = ["predict", "--model", HfFixture.Dir("multiple-choice"), "--text", "she opens the door", "--choice", "and walks in .", "--choice", "the sky eats ."];
        Assert.True(CliRunner.Run(choices).ExitCode == 0);
        foreach (var extra in new[] { new[] { "--backend", "onnxruntime" }, ["--onnx", tagger], ["--ort-threads", "1"] })
        {
            var mc = CliRunner.Run([.. choices, .. extra]);
            Assert.Equal(2, mc.ExitCode);
            Assert.Equal($"error: {extra[0]}: a multiple-choice model runs on TorchSharp only (ONNX Runtime runs classifiers and embeddings).", mc.StdErr.Trim());
        }
    }

    // --ort-threads without --backend onnxruntime, and --device cuda with it, were ignored: the run went on TorchSharp with
    // libtorch's threads, or on ORT's CPU provider, as if the flag had not been given (--onnx alone is refused).
    [Fact]
    public void Backend_options_that_would_be_ignored_are_refused()
    {
        using var tmp = TestPaths.TempDir();
        CliRunner.Run("predict", "--model", Classifier, "--text", "a fine film", "--ort-threads", "1")
            .AssertOneLineError("--ort-threads: only with --backend onnxruntime.");
        CliRunner.Run("predict", "--model", Classifier, "--text", "a fine film", "--backend", "onnxruntime", "--device", "cuda")
            .AssertOneLineError("--device cuda: --backend onnxruntime runs on the CPU; expected cpu or auto.");
        File.WriteAllLines(tmp.File("texts.txt"), ["a fine film"]);
        CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("texts.txt"), "--output", tmp.File("e.jsonl"), "--backend", "onnxruntime", "--device", "cuda:0")
            .AssertOneLineError("--device cuda:0: --backend onnxruntime runs on the CPU; expected cpu or auto.");
        Assert.False(File.Exists(tmp.File("e.jsonl")));
    }

    // The refusal of a head the checkpoint lacks said "(pass --architecture)" to a user who had passed it.
    [Fact]
    public void An_architecture_whose_head_the_checkpoint_lacks_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        CliRunner.Run("export-onnx", HfFixture.Dir("base-model"), tmp.File("qa.onnx"), "--architecture", "BertForQuestionAnswering")
            .AssertOneLineError("the checkpoint lacks qa_outputs.bias, qa_outputs.weight for BertForQuestionAnswering; exporting would write random weights " +
                "(choose an --architecture whose head the checkpoint has, e.g. BertModel for the encoder alone).");
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    // An .onnx given where a model directory is expected (bert inspect x.onnx, bert predict --model x.onnx) was told only to
    // pass a directory holding config.json, not how to make one from the graph.
    [Fact]
    public void A_graph_given_as_the_model_directory_is_told_to_import_it()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        File.WriteAllText(onnx, "not read");
        var expected = $"{onnx}: is a file; pass the checkpoint directory that holds config.json (an ONNX graph: import it into one with 'bert convert MODEL.onnx OUT').";
        CliRunner.Run("inspect", onnx).AssertOneLineError(expected);
        CliRunner.Run("predict", "--model", onnx, "--text", "a fine film", "--backend", "onnxruntime").AssertOneLineError(expected);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("notes.onnx"), "these are my notes, not a model\n");
        AssertRefused(tmp, tmp.File("notes.onnx"), "expected an ONNX ModelProto");
    }

    [Fact]
    public void A_file_given_to_onnx_runtime_that_is_not_onnx_is_named_once_with_runtimes_reason()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("texts.txt"), "a fine film\n");
        // ORT's own message begins "Load model from PATH failed:"; the line names the file once, before its reason.
        var line = CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("texts.txt"), "--output", tmp.File("out.jsonl"),
            "--backend", "onnxruntime", "--onnx", tmp.File("texts.txt")).AssertOneLineError();
        Assert.Equal($"error: {tmp.File("texts.txt")}: ONNX Runtime cannot load the model ([ErrorCode:InvalidProtobuf] Protobuf parsing failed).", line);
        Assert.False(File.Exists(tmp.File("out.jsonl")));
    }

    [Fact]
    public void A_truncated_onnx_file_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var full = tmp.File("full.onnx");
        OnnxExport.Export(Classifier, full);
        var bytes = File.ReadAllBytes(full);
        File.WriteAllBytes(tmp.File("cut.onnx"), bytes[..(bytes.Length / 2)]);
        AssertRefused(tmp, tmp.File("cut.onnx"), "truncated");
    }

    [Fact]
    public void A_graph_that_is_not_a_bert_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var graph = new GraphProto { Name = "relu" };
        graph.Node.Add(new NodeProto { OpType = "Relu", Input = { "x" }, Output = { "y" } });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        File.WriteAllBytes(tmp.File("relu.onnx"), model.ToByteArray());
        AssertRefused(tmp, tmp.File("relu.onnx"), "not a BERT graph");
    }

    [Fact]
    public void A_graph_whose_head_cannot_be_derived_is_refused_unless_the_encoder_alone_is_asked_for()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("anonymous-head.onnx");
        using (var m = BertPretrained.Load(null, Classifier, out _))
        {
            var onnx = OnnxExport.ToOnnx(m);
            // As an exporter that folded the classifier's bias into an anonymous constant: nothing names the head any more.
            foreach (var t in onnx.Graph.Initializer.Where(t => t.Name == "classifier.bias"))
            {
                t.Name = "1234";
            }
            foreach (var n in onnx.Graph.Node)
            {
                for (var i = 0; i < n.Input.Count; i++)
                {
                    if (n.Input[i] == "classifier.bias")
                    {
                        n.Input[i] = "1234";
                    }
                }
            }
            // The producer's name and an op type after the FFN projection are the graph's text, which the summary quotes.
            onnx.ProducerName = "tor\u001b[31mch\u202e";
            var intermediate = onnx.Graph.Node.First(n => n.Input.Contains("encoder.layer.0.intermediate.dense.bias"));
            onnx.Graph.Node.Add(new NodeProto { OpType = "Cu\u001b[31mstom\u202e", Input = { intermediate.Output[0] }, Output = { "unused" } });
            File.WriteAllBytes(path, onnx.ToByteArray());
        }
        AssertRefused(tmp, path, "cannot derive the head", "--vocab", Path.Combine(Classifier, "vocab.txt"));
        var encoder = CliRunner.Run("convert", path, tmp.File("encoder"), "--vocab", Path.Combine(Classifier, "vocab.txt"), "--architecture", "BertModel");
        Assert.True(encoder.ExitCode == 0, encoder.StdErr);
        Assert.Contains("\n  architecture BertModel (as given)\n", encoder.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        // Shown as data: their escape drove the terminal and U+202E reversed the line.
        Assert.Contains(" from tor\\x1b[31mch\\u202e ", encoder.StdOut, StringComparison.Ordinal);
        Assert.Contains(", Cu\\x1b[31mstom\\u202e, ", encoder.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(encoder.StdOut, c => c is '\u001b' or '\u202e');
        Assert.Equal([nameof(BertModel)], BertConfig.Load(tmp.File("encoder/config.json")).Architectures);
    }

    [Fact]
    public void A_missing_vocabulary_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("model.onnx");
        OnnxExport.Export(Classifier, path);
        AssertRefused(tmp, path, "no vocabulary");
        var r = CliRunner.Run("convert", path, tmp.File("out"), "--vocab", tmp.File("nope.txt"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--vocab " + tmp.File("nope.txt") + ": file not found", r.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    private static void AssertRefused(TempDir tmp, string input, string expected, params string[] extra)
    {
        var output = tmp.File("out");
        var r = CliRunner.Run(["convert", input, output, .. extra]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.Contains(input, r.StdErr, StringComparison.Ordinal);
        Assert.Single(r.StdErr.Trim().Split('\n'));
        Assert.False(Directory.Exists(output), "nothing may be written");
        Assert.Empty(Directory.GetDirectories(tmp.Path));
    }
}
