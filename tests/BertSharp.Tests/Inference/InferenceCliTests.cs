using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

public sealed class InferenceCliTests
{
    private static readonly string TokenModel = HfFixture.Dir("token-classification");
    private static readonly string QaModel = HfFixture.Dir("question-answering");

    [Fact]
    public void Ner_prints_the_pipeline_entities_as_json_lines()
    {
        const string text = "I said that never in my life had I seen a place like Bangor.";
        var r = CliRunner.Run("ner", "--model", TokenModel, "--text", text, "--aggregation", "first");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var pipe = TokenClassification.Load(TokenModel);
        var expected = pipe.Predict([text], AggregationStrategy.First)[0];
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Count, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var o = JsonNode.Parse(lines[i])!;
            Assert.Equal(expected[i].Entity, (string)o["entity"]!);
            Assert.Equal(expected[i].Word, (string)o["word"]!);
            Assert.Equal(text[expected[i].Start..expected[i].End], text[(int)o["start"]!..(int)o["end"]!]);
        }
    }

    [Theory]
    [InlineData("token-classification", "BertForTokenClassification", "'bert ner'")]
    [InlineData("question-answering", "BertForQuestionAnswering", "'bert qa'")]
    public void Predict_on_a_token_or_qa_model_names_the_command_that_runs_it(string caseName, string architecture, string command)
    {
        var r = CliRunner.Run("predict", "--model", HfFixture.Dir(caseName), "--text", "a fine film");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(architecture, r.StdErr, StringComparison.Ordinal);
        Assert.Contains(command, r.StdErr, StringComparison.Ordinal);
        Assert.Single(r.StdErr.Trim().Split('\n'));
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public void Predict_shows_the_model_s_labels_as_data()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path, f => f is "config.json" or "model.safetensors" or "vocab.txt" or "tokenizer_config.json" or "special_tokens_map.json");
        var config = JsonNode.Parse(File.ReadAllText(tmp.File("config.json")))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = "a\u001b[31m", ["1"] = "b\nc", ["2"] = "d" };
        config["label2id"] = new JsonObject { ["a\u001b[31m"] = 0, ["b\nc"] = 1, ["d"] = 2 };
        File.WriteAllText(tmp.File("config.json"), config.ToJsonString());
        var r = CliRunner.Run("predict", "--model", tmp.Path, "--text", "a fine film", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // An escape in a label drove the terminal, and a line break split the answer and the probabilities line.
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^(a\\x1b\[31m|b c|d) \(\d\.\d\d\)$", lines[0]);
        Assert.Matches(@"^a\\x1b\[31m \d\.\d{4}  b c \d\.\d{4}  d \d\.\d{4}$", lines[1]);

        // So did the interactive mode's opening line, which lists them.
        var stdin = Console.In;
        CliRunner.Result typed;
        try
        {
            Console.SetIn(new StringReader("a fine film\n\n"));
            typed = CliRunner.Run("predict", "--model", tmp.Path, "--interactive", "--device", "cpu");
        }
        finally
        {
            Console.SetIn(stdin);
        }
        Assert.True(typed.ExitCode == 0, typed.StdErr);
        Assert.StartsWith($"model {tmp.Path}: labels a\\x1b[31m, b c, d. Type a sentence", typed.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', typed.StdErr);
        Assert.Equal(lines[0], typed.StdOut.TrimEnd('\n'));

        // The JSON lines of --input show the text as written, but a bidirectional override escaped: raw, it reversed the
        // rest of the line on a terminal.
        File.WriteAllText(tmp.File("in.txt"), "é漢😀 \u202efine film\n");
        var file = CliRunner.Run("predict", "--model", tmp.Path, "--input", tmp.File("in.txt"), "--output", tmp.File("o\u001b[31mut.jsonl"), "--device", "cpu");
        Assert.True(file.ExitCode == 0, file.StdErr);
        // The output's path is shown as data: its escape drove the terminal.
        Assert.Equal($"wrote 1 predictions to {tmp.File("o\\x1b[31mut.jsonl")}", file.StdOut.TrimEnd());
        var json = Assert.Single(File.ReadAllLines(tmp.File("o\u001b[31mut.jsonl")));
        Assert.Contains("\"text\":\"é漢\\uD83D\\uDE00 \\u202Efine film\"", json, StringComparison.Ordinal);
        Assert.Equal("é漢😀 \u202efine film", (string)JsonNode.Parse(json)!["text"]!);
    }

    [Fact]
    public void Predict_writes_a_regression_model_s_table_with_its_score_and_no_probability_columns()
    {
        // Rows 1 and 3 of the fixture batch: the label is "score" and the score HF's one logit for each; a regression model has no
        // p_ columns (its header was run by no test).
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "Us love they.\n\na tender , heartfelt family drama .\n");
        var r = CliRunner.Run("predict", "--model", HfFixture.Dir("regression"), "--input", tmp.File("in.txt"), "--output", tmp.File("out.tsv"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var refs = HfFixture.Tensors("regression");
        float[] logits;
        try
        {
            logits = refs["out.logits"].data<float>().ToArray();
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
        var lines = File.ReadAllLines(tmp.File("out.tsv"));
        Assert.Equal(3, lines.Length);
        Assert.Equal("line\ttext\tlabel\tscore", lines[0]);
        (string Line, string Text, int Row)[] rows = [("1", "Us love they.", 1), ("3", "a tender , heartfelt family drama .", 3)];
        for (var i = 0; i < rows.Length; i++)
        {
            var cells = lines[i + 1].Split('\t');
            Assert.Equal([rows[i].Line, rows[i].Text, "score"], cells[..3]);
            Assert.Equal(4, cells.Length);
            Assert.Equal(logits[rows[i].Row], double.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture), 1e-5);
        }
    }

    [Fact]
    public void Ner_refuses_a_text_longer_than_the_model_instead_of_cutting_it()
    {
        var r = CliRunner.Run("ner", "--model", TokenModel, "--text", string.Join(' ', Enumerable.Repeat("the", 100)));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("102 tokens", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("at most 64", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("--stride N tags it in overlapping windows", r.StdErr, StringComparison.Ordinal);
        Assert.Equal("", r.StdOut);
    }

    // --stride tags the whole text in overlapping windows, as the library's Predict with stride (its windows and merging are
    // checked against a by-hand reference in TokenClassificationStrideTests); HF's refusals come back as one line.
    [Fact]
    public void Ner_stride_tags_a_text_longer_than_the_model_and_refuses_what_HF_refuses()
    {
        var text = string.Join(' ', Enumerable.Repeat("I said that never in my life had I seen a place like Bangor.", 6));
        var r = CliRunner.Run("ner", "--model", TokenModel, "--text", text, "--stride", "8", "--max-length", "32");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var pipe = TokenClassification.Load(TokenModel);
        var expected = pipe.Predict([text], maxLength: 32, stride: 8)[0];
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Select(e => (e.Entity, e.Word, e.Start, e.End)),
            lines.Select(l => JsonNode.Parse(l)!).Select(o => ((string)o["entity"]!, (string)o["word"]!, (int)o["start"]!, (int)o["end"]!)));
        Assert.Equal(text.Length, expected[^1].End);
        CliRunner.Run("ner", "--model", TokenModel, "--text", text, "--stride", "62")
            .AssertOneLineError("--stride 62 must be smaller than the 62 tokens a 64-token window leaves for text (--max-length minus [CLS] and [SEP]).");
        CliRunner.Run("ner", "--model", TokenModel, "--text", "I said that.", "--stride", "4", "--aggregation", "none")
            .AssertOneLineError("--stride 4 cannot be used with --aggregation none");
    }

    [Fact]
    public void Qa_reads_the_context_file_and_prints_top_k_answers()
    {
        using var tmp = TestPaths.TempDir();
        const string context = "Community college students will see their tuition rise by $ 300 to $ 2,800 or 12 percent .";
        const string question = "At community colleges , tuition will jump to $ 2,800 from $ 2,500 .";
        File.WriteAllText(tmp.File("context.txt"), context);
        var r = CliRunner.Run("qa", "--model", QaModel, "--question", question, "--context-file", tmp.File("context.txt"), "--top-k", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var pipe = QuestionAnswering.Load(QaModel);
        var expected = pipe.Answer([(question, context)], new QuestionAnsweringOptions(TopK: 2))[0];
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(expected.Select(a => a.Answer), lines.Select(l => (string)l["answer"]!));
        Assert.Equal(expected[0].Score, (double)lines[0]["score"]!, 6);

        var missing = CliRunner.Run("qa", "--model", QaModel, "--question", "q", "--context-file", tmp.File("nope.txt"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.txt", missing.StdErr, StringComparison.Ordinal);
    }

    // The pipeline could offer "no answer" (HandleImpossibleAnswer) but bert qa had no way to ask for it: a model fine-tuned
    // on SQuAD v2.0 always answered with a span.
    [Fact]
    public void Qa_offers_no_answer_with_handle_impossible_answer()
    {
        const string question = "where did the cat sit?";
        const string context = "the cat sat on the mat .";
        var r = CliRunner.Run("qa", "--model", QaModel, "--question", question, "--context", context, "--top-k", "50", "--handle-impossible-answer");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var pipe = QuestionAnswering.Load(QaModel);
        var expected = pipe.Answer([(question, context)], new QuestionAnsweringOptions(TopK: 50, HandleImpossibleAnswer: true))[0];
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(expected.Select(a => (a.Answer, a.Start, a.End)), lines.Select(l => ((string)l["answer"]!, (int)l["start"]!, (int)l["end"]!)));
        // HF's null score by hand on the one window: softmax over [CLS] and the context tokens, P(start=[CLS]) × P(end=[CLS]).
        var w = Assert.Single(pipe.Windows([(question, context)])[0]);
        double ClsProbability(float[] logits)
        {
            var kept = Enumerable.Range(0, logits.Length).Where(i => i == 0 || (w.Encoding.TypeIds[i] == 1 && w.Encoding.SpecialTokensMask[i] == 0)).ToArray();
            var max = kept.Max(i => logits[i]);
            return 1 / kept.Sum(i => Math.Exp(logits[i] - max)) * Math.Exp(logits[0] - max);
        }
        var none = Assert.Single(lines, l => (string)l["answer"]! == "");
        Assert.Equal(ClsProbability(w.StartLogits) * ClsProbability(w.EndLogits), (double)none["score"]!, 9);
        Assert.Equal((0, 0), ((int)none["start"]!, (int)none["end"]!));
    }

    // The pipeline named its fields ("top_k and max_answer_len must be at least 1 (got 0 and 15)"), and a negative stride
    // reached the tokenizer ("max_length, padding length and stride must be ≥ 0 (got 64, , -1)"): no flag was named.
    [Theory]
    [InlineData("--top-k", "0", "--top-k 0: expected at least 1.")]
    [InlineData("--max-answer-length", "0", "--max-answer-length 0: expected at least 1.")]
    [InlineData("--doc-stride", "-1", "--doc-stride -1: expected a number ≥ 0.")]
    public void Qa_refuses_an_option_out_of_range_naming_its_flag(string flag, string value, string error) =>
        Assert.Equal("error: " + error, CliRunner.Run("qa", "--model", QaModel, "--question", "q", "--context", "c d", flag, value).AssertOneLineError());

    [Fact]
    public void Embed_writes_jsonl_safetensors_and_a_plot()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.csv"), "text,label\n\"a tender , heartfelt family drama .\",pos\nUs love they.,neg\n\"the cat sat.\",neg\nhe has no plans,pos\n");
        var r = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("in.csv"), "--output", tmp.File("e.jsonl"),
            "--pooling", "mean", "--normalize", "--label-column", "label", "--plot", tmp.File("map\u202e.png"), "--method", "tsne");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // The plot's path is shown as data: U+202E reversed the rest of the line.
        Assert.EndsWith($"\nwrote {tmp.File("map\\u202e.png")}", r.StdOut.TrimEnd(), StringComparison.Ordinal);
        using var pipe = FeatureExtraction.Load(TokenModel);
        var expected = pipe.Embed(["a tender , heartfelt family drama .", "Us love they.", "the cat sat.", "he has no plans"],
            new FeatureExtractionOptions(Pooling.Mean, Normalize: true));
        var rows = File.ReadAllLines(tmp.File("e.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["pos", "neg", "neg", "pos"], rows.Select(x => (string)x["label"]!));
        for (var i = 0; i < 4; i++)
        {
            InferenceFixtures.AssertClose(expected[i], rows[i]["embedding"]!.AsArray().Select(v => (float)v!).ToArray(), 1e-6, $"row {i}");
        }
        var png = File.ReadAllBytes(tmp.File("map\u202e.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

        var st = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("in.csv"), "--output", tmp.File("e\u001b[31m.safetensors"));
        Assert.True(st.ExitCode == 0, st.StdErr);
        // The output's path is shown as data: its escape drove the terminal.
        Assert.Equal($"wrote 4 embeddings of dimension 64 to {tmp.File("e\\x1b[31m.safetensors")}", st.StdOut.TrimEnd());
        var tensors = SafeTensors.Load(tmp.File("e\u001b[31m.safetensors"));
        Assert.Equal([4L, 64L], tensors["embeddings"].shape);
        HfFixture.DisposeAll(tensors);
    }

    // What --task mrpc embeds was said nowhere: each pair is one text, the sentences joined by a space (not a [SEP] pair).
    [Fact]
    public void Embed_of_a_pair_task_embeds_the_two_sentences_joined_by_a_space_as_its_help_says()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("mrpc.tsv"), "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tThe cat sat .\tA cat was sitting .\n0\t3\t4\tIt rained .\tShe left early .\n");
        var r = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("mrpc.tsv"), "--task", "mrpc", "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var rows = File.ReadAllLines(tmp.File("e.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["The cat sat . A cat was sitting .", "It rained . She left early ."], rows.Select(x => (string)x["text"]!));
        using var pipe = FeatureExtraction.Load(TokenModel);
        var expected = pipe.Embed(["The cat sat . A cat was sitting .", "It rained . She left early ."], new FeatureExtractionOptions(Pooling.Cls));
        for (var i = 0; i < 2; i++)
        {
            InferenceFixtures.AssertClose(expected[i], rows[i]["embedding"]!.AsArray().Select(v => (float)v!).ToArray(), 1e-6, $"row {i}");
        }
        const string Joined = "A pair task's two sentences (mrpc) are embedded as one text, joined by a space (not a [SEP] pair)";
        Assert.Contains(Joined, CliRunner.Run("embed", "--help").StdOut, StringComparison.Ordinal);
        Assert.Contains("A pair task's two sentences (mrpc) are one corpus text, joined by a space (not a [SEP] pair)",
            CliRunner.Run("search", "--help").StdOut, StringComparison.Ordinal);
        Assert.Contains("embedded as one text, joined by a space (`sentence1 sentence2`, not a `[CLS] a [SEP] b [SEP]` pair)",
            File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "serving.md")).ReplaceLineEndings(" "), StringComparison.Ordinal);
    }

    [Fact]
    public void Embed_with_a_missing_label_column_fails_without_output()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.csv"), "text\nhello\n");
        var r = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("in.csv"), "--output", tmp.File("e.jsonl"), "--label-column", "label");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("missing column 'label' in the header (columns: text); choose it with --label-column", r.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("e.jsonl")));
    }

    // The t-SNE options are checked before anything is written: a refusal at the plot would leave the embeddings file behind.
    [Theory]
    [InlineData("-1")]
    [InlineData("0")]
    public void Embed_refuses_a_perplexity_below_one_before_writing_anything(string perplexity)
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "hello there\ngood night\nsee you\n");
        var r = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"),
            "--plot", tmp.File("map.png"), "--method", "tsne", "--perplexity", perplexity);
        Assert.Equal($"error: t-SNE --perplexity {perplexity}: expected a number of at least 1.", r.AssertOneLineError());
        Assert.False(File.Exists(tmp.File("e.jsonl")));
        Assert.False(File.Exists(tmp.File("map.png")));
    }

    [Fact]
    public void Embed_says_how_many_blank_lines_it_skipped_so_rows_can_be_matched_to_lines()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "hello there\n\n  \ngood night\n");
        var r = CliRunner.Run("embed", "--model", TokenModel, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["hello there", "good night"], File.ReadAllLines(tmp.File("e.jsonl")).Select(l => (string)System.Text.Json.Nodes.JsonNode.Parse(l)!["text"]!));
        Assert.Contains($"warning: {tmp.File("in.txt")}: skipped 2 blank line(s); the output has one row per remaining line (2).", r.StdErr, StringComparison.Ordinal);
    }
}
