using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

/// <summary>
/// <see cref="CrossEncoder"/> and <c>bert rerank</c> against HF's logits of a one-label cross-encoder
/// (<see cref="CrossEncoderFixture"/>) and sentence-transformers' rules: sigmoid unless config.json names identity, ranks
/// sorted by score descending, top_k, a model of several labels refused.
/// </summary>
public sealed class CrossEncoderTests
{
    // HF's pooler output is within 1e-5 per value (manifest atol); through a head of 64 weights of about 1 that is 1e-3 at most.
    private const double LogitTolerance = 1e-3;

    [Fact]
    public void Predict_gives_the_sigmoid_of_hf_logits_of_each_pair_and_the_logit_with_raw_scores()
    {
        using var tmp = CrossEncoderFixture.Temp();
        using var reranker = CrossEncoder.Load(tmp.Path, "cpu");
        var expected = CrossEncoderFixture.HfLogits();
        var pairs = CrossEncoderFixture.Pairs;
        Assert.Equal(CrossEncoderActivation.Sigmoid, reranker.Activation);
        var raw = reranker.Predict(pairs, rawScores: true);
        var scores = reranker.Predict(pairs);
        Assert.Equal(expected.Length, raw.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], raw[i], LogitTolerance);
            Assert.Equal(CrossEncoderFixture.Sigmoid(expected[i]), scores[i], LogitTolerance / 4);
        }
        // The logits spread (the head is scaled): a check of the order below is a check of something.
        Assert.True(expected.Max() - expected.Min() > 0.5, string.Join(", ", expected));
    }

    [Fact]
    public void Rank_sorts_by_score_descending_keeps_top_k_and_the_texts_indices()
    {
        using var tmp = CrossEncoderFixture.Temp();
        using var reranker = CrossEncoder.Load(tmp.Path, "cpu");
        const string query = "The cat sat.";
        string[] texts = [.. CrossEncoderFixture.Pairs.Select(p => p.Pair)];
        var scores = reranker.Predict([.. texts.Select(t => (query, t))]);
        int[] order = [.. Enumerable.Range(0, texts.Length).OrderBy(i => -scores[i])];
        Assert.NotEqual(Enumerable.Range(0, texts.Length), order);

        var ranked = reranker.Rank(query, texts);
        Assert.Equal(order, ranked.Select(r => r.Index));
        Assert.Equal(order.Select(i => scores[i]), ranked.Select(r => r.Score));
        Assert.Equal(order.Select(i => texts[i]), ranked.Select(r => r.Text));

        var top2 = reranker.Rank(query, texts, topK: 2, rawScores: true);
        Assert.Equal(order.Take(2), top2.Select(r => r.Index));
        var logits = reranker.Predict([.. texts.Select(t => (query, t))], rawScores: true);
        Assert.Equal(order.Take(2).Select(i => logits[i]), top2.Select(r => r.Score));
        Assert.Empty(reranker.Rank(query, []));
    }

    [Fact]
    public void Config_naming_identity_gives_the_logit_and_another_activation_is_refused()
    {
        using var identity = CrossEncoderFixture.Temp(new JsonObject { ["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity" });
        using (var reranker = CrossEncoder.Load(identity.Path, "cpu"))
        {
            Assert.Equal(CrossEncoderActivation.Identity, reranker.Activation);
            Assert.Equal(CrossEncoderFixture.HfLogits()[0], reranker.Predict([CrossEncoderFixture.Pairs[0]])[0], LogitTolerance);
        }
        // sentence-transformers v4's own section wins over the flat key.
        using var sigmoid = CrossEncoderFixture.Temp(new JsonObject
        {
            ["sentence_transformers"] = new JsonObject { ["activation_fn"] = "torch.nn.modules.activation.Sigmoid" },
            ["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity",
        });
        using (var reranker = CrossEncoder.Load(sigmoid.Path, "cpu"))
        {
            Assert.Equal(CrossEncoderActivation.Sigmoid, reranker.Activation);
        }
        using var tanh = CrossEncoderFixture.Temp(new JsonObject { ["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Tanh" });
        var e = Assert.Throws<BertSharpException>(() => CrossEncoder.Load(tanh.Path, "cpu"));
        Assert.Equal($"{tanh.Path}: config.json field 'sbert_ce_default_activation_function' is torch.nn.modules.activation.Tanh; expected torch.nn.modules.activation.Sigmoid or torch.nn.modules.linear.Identity.", e.Message);
    }

    [Fact]
    public void A_model_of_several_labels_and_empty_texts_are_refused_naming_them()
    {
        var threeLabels = HfFixture.Dir("sequence-classification");
        var e = Assert.Throws<BertSharpException>(() => CrossEncoder.Load(threeLabels, "cpu"));
        Assert.Equal($"{threeLabels}: a cross-encoder scores each pair with one logit; this model has 3 labels (LABEL_0, LABEL_1, LABEL_2), a classifier's answers, not a relevance score.", e.Message);

        using var tmp = CrossEncoderFixture.Temp();
        using var reranker = CrossEncoder.Load(tmp.Path, "cpu");
        Assert.Equal(["query"], Assert.Throws<BertSharpException>(() => reranker.Rank(" ", ["a text ."])).Fields);
        var text = Assert.Throws<BertSharpException>(() => reranker.Rank("a query", ["a text .", "\u200b"]));
        Assert.StartsWith("texts[1]: no word pieces", text.Message, StringComparison.Ordinal);
        Assert.Equal(["top_k"], Assert.Throws<BertSharpException>(() => reranker.Rank("a query", ["a text ."], topK: 0)).Fields);
    }

    [Fact]
    public void Cli_prints_the_ranking_and_writes_jsonl_and_tsv()
    {
        using var tmp = CrossEncoderFixture.Temp();
        using var work = TestPaths.TempDir();
        const string query = "The cat sat.";
        string[] texts = [.. CrossEncoderFixture.Pairs.Select(p => p.Pair)];
        IReadOnlyList<RankedText> expected;
        using (var reranker = CrossEncoder.Load(tmp.Path, "cpu"))
        {
            expected = reranker.Rank(query, texts);
        }
        string[] args = ["rerank", "--model", tmp.Path, "--query", query, .. texts.SelectMany(t => new[] { "--text", t })];
        var table = CliRunner.Run([.. args, "--top-k", "3"]);
        Assert.True(table.ExitCode == 0, table.StdErr);
        var lines = table.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"query: {query}", lines[0]);
        Assert.Equal(expected.Take(3).Select((r, i) => string.Create(CultureInfo.InvariantCulture, $"  {i + 1}. {r.Score:0.0000}  [{r.Index}] {r.Text}")), lines[1..]);

        File.WriteAllLines(work.File("texts.txt"), texts);
        var jsonl = CliRunner.Run("rerank", "--model", tmp.Path, "--query", query, "--input", work.File("texts.txt"), "--output", work.File("ranked.jsonl"), "--raw-scores");
        Assert.True(jsonl.ExitCode == 0, jsonl.StdErr);
        Assert.Equal($"wrote 4 of 4 texts, ranked, to {work.File("ranked.jsonl")}\n", jsonl.StdOut);
        var hf = CrossEncoderFixture.HfLogits();
        var rows = File.ReadAllLines(work.File("ranked.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(expected.Select(r => r.Index), rows.Select(o => (int)o["index"]!));
        Assert.All(rows, o => Assert.Equal(["index", "score", "text"], o.Select(kv => kv.Key)));
        var written = rows.Select(o => (double)o["score"]!).ToList();
        Assert.Equal(written.OrderByDescending(x => x), written);
        Assert.Equal(texts.Length, rows.Select(o => (int)o["index"]!).Distinct().Count());
        // Row 0 of the fixture is this very pair: its raw score is HF's logit.
        Assert.Equal(hf[0], (double)rows.Single(o => (int)o["index"]! == 0)["score"]!, LogitTolerance);

        var tsv = CliRunner.Run([.. args, "--top-k", "2", "--output", work.File("ranked.tsv")]);
        Assert.True(tsv.ExitCode == 0, tsv.StdErr);
        Assert.Equal(["rank\tindex\tscore\ttext", .. expected.Take(2).Select((r, i) => string.Create(CultureInfo.InvariantCulture, $"{i + 1}\t{r.Index}\t{r.Score:0.######}\t{r.Text}"))],
            File.ReadAllLines(work.File("ranked.tsv")));
    }

    [Fact]
    public void Cli_refuses_bad_input_in_one_line_and_writes_nothing()
    {
        using var tmp = CrossEncoderFixture.Temp();
        using var work = TestPaths.TempDir();
        var output = work.File("ranked.jsonl");
        CliRunner.Run("rerank", "--model", tmp.Path, "--query", " ", "--text", "a text .", "--output", output)
            .AssertOneLineError("--query: empty value; expected a text");
        CliRunner.Run("rerank", "--model", tmp.Path, "--query", "a query", "--output", output)
            .AssertOneLineError("rerank: give the texts with --text \"...\" (repeatable) or --input FILE, not both.");
        CliRunner.Run("rerank", "--model", tmp.Path, "--query", "a query", "--text", "a text .", "--top-k", "0")
            .AssertOneLineError("--top-k 0: expected at least 1.");
        var threeLabels = HfFixture.Dir("sequence-classification");
        CliRunner.Run("rerank", "--model", threeLabels, "--query", "a query", "--text", "a text .", "--output", output)
            .AssertOneLineError("a cross-encoder scores each pair with one logit; this model has 3 labels (LABEL_0, LABEL_1, LABEL_2)");
        Assert.False(File.Exists(output));
    }

    // A text of --input that keeps no word piece was named --text[1]: a flag the command line did not use, and an index of the
    // non-blank lines. It is named by the file and its line, as the other --input commands name theirs.
    [Fact]
    public void Cli_names_a_text_of_input_without_word_pieces_by_its_file_and_line()
    {
        using var tmp = CrossEncoderFixture.Temp();
        using var work = TestPaths.TempDir();
        var output = work.File("ranked.jsonl");
        const string missing = ": no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.";
        // Line 3 after a blank line 2: the second text, on the file's third line.
        var txt = work.File("texts.txt");
        File.WriteAllText(txt, "the cat sat .\n\n\u200b\u0007\nit was happy .\n");
        // The blank line is skipped with a warning, and the error follows it.
        var r = CliRunner.Run("rerank", "--model", tmp.Path, "--query", "a query", "--input", txt, "--output", output);
        Assert.Equal(BertSharp.Cli.CliErrors.BadInput, r.ExitCode);
        Assert.Equal([$"warning: {txt}: skipped 1 blank line(s); the output has one row per remaining line (3).", $"error: {txt} line 3" + missing],
            r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var jsonl = work.File("texts.jsonl");
        File.WriteAllText(jsonl, "{\"text\": \"the cat sat .\"}\n{\"text\": \"it was happy .\"}\n{\"text\": \"\\u200b\"}\n");
        CliRunner.Run("rerank", "--model", tmp.Path, "--query", "a query", "--input", jsonl, "--output", output)
            .AssertOneLineError($"error: {jsonl} line 3" + missing);
        // Texts given with --text keep their flag and index.
        CliRunner.Run("rerank", "--model", tmp.Path, "--query", "a query", "--text", "a text .", "--text", "\u200b", "--output", output)
            .AssertOneLineError("error: --text[1]" + missing);
        Assert.False(File.Exists(output));
    }
}
