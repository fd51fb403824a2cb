using BertSharp.Data;
using BertSharp.Tests.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Commands;

/// <summary><c>bert data stats FILE --task T</c>: counts, labels, label order and word-piece lengths of a task file.</summary>
public class DataStatsCommandTests
{
    private static readonly string Vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    [Fact]
    public void Percentiles_interpolate_linearly_as_numpy_does()
    {
        // numpy.percentile([1, 2, 3, 4, 10], q) = 3.0 (50), 7.6 (90), 8.8 (95), 9.76 (99): rank q/100·(n-1), linear between.
        int[] v = [1, 2, 3, 4, 10];
        Assert.Equal(3.0, DatasetStats.Percentile(v, 50), 12);
        Assert.Equal(7.6, DatasetStats.Percentile(v, 90), 12);
        Assert.Equal(8.8, DatasetStats.Percentile(v, 95), 12);
        Assert.Equal(9.76, DatasetStats.Percentile(v, 99), 12);
        Assert.Equal(10, DatasetStats.Percentile(v, 100), 12);
        Assert.Equal(7, DatasetStats.Percentile([7], 90), 12);
    }

    // 'bert data stats train.json --task ner' said "--task ner: unknown task; expected one of imdb, ...", a task finetune
    // takes; so did every command reading text-classification data only. Each names what it covers and what reads the file.
    [Theory]
    [InlineData("data stats", "ner", "--task ner: data stats covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not ner; no command gives statistics of ner files yet ('bert finetune --task ner' reads and checks one).")]
    [InlineData("data stats", "squad", "--task squad: data stats covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not squad; no command gives statistics of squad files yet ('bert finetune --task squad' reads and checks one).")]
    [InlineData("data stats", "multiple-choice", "--task multiple-choice: data stats covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not swag; no command gives statistics of swag files yet ('bert finetune --task swag' reads and checks one).")]
    [InlineData("predict", "ner", "--task ner: predict covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not ner; a token classifier tags text with 'bert ner', and ner files are scored with 'bert evaluate --task ner'.")]
    [InlineData("export-onnx", "squad", "--task squad: export-onnx covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not squad; a QA model answers with 'bert qa', and squad files are scored with 'bert evaluate --task squad'.")]
    [InlineData("embed", "swag", "--task swag: embed covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not swag; without --task the file is read by its extension (.txt, or .csv/.tsv/.jsonl with --text-column).")]
    [InlineData("search", "ner", "--task ner: search covers the text-classification tasks (imdb, cola, sst2, mrpc, csv, tsv, jsonl), not ner; without --task the file is read by its extension (.txt, or .csv/.tsv/.jsonl with --text-column).")]
    public void A_head_task_given_to_a_command_reading_classification_data_is_named_as_such_not_as_unknown(string command, string task, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var data = tmp.File("train.tsv");
        File.WriteAllText(data, "sentence\tlabel\nhello world\t1\n");
        var model = Path.GetDirectoryName(Vocab)!;
        var output = tmp.File("out.jsonl");
        string[] args = command switch
        {
            "data stats" => ["data", "stats", data, "--task", task],
            "predict" => ["predict", "--model", model, "--input", data, "--task", task, "--output", output],
            "export-onnx" => ["export-onnx", "--model", model, "--output", tmp.File("m.onnx"), "--eval-data", data, "--task", task, "--quantize", "int8"],
            "embed" => ["embed", "--model", model, "--input", data, "--task", task, "--output", output],
            _ => ["search", "--model", model, "--corpus", data, "--query", "hello", "--task", task],
        };
        CliRunner.Run(args).AssertOneLineError(expected);
        Assert.Equal([data], Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Stats_count_labels_order_and_word_pieces()
    {
        using var tmp = TestPaths.TempDir();
        var path = StratifiedSplitTests.SortedImdbLike(tmp, 4);
        var data = DatasetReader.Read(path, TaskSpec.Imdb);
        var tokenizer = BertTokenizer.FromVocabFile(Vocab);
        var stats = DatasetStats.Compute(data, TaskSpec.Imdb, tokenizer);
        Assert.Equal(8, stats.Examples);
        Assert.Equal([("negative", 4), ("positive", 4)], stats.Labels);
        Assert.NotNull(stats.LabelBlocks);
        // Each length is the tokenizer's own count with [CLS] and [SEP]: an independent check of the loop.
        var expected = data.Examples.Select(e => tokenizer.Encode(e.Text).Length).Order().ToArray();
        Assert.Equal(expected, stats.TokenLengths);

        var r = CliRunner.Run("data", "stats", path, "--task", "imdb", "--vocab", Vocab, "--lengths", "8,100");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n');
        Assert.Equal($"{path}: 8 examples (task imdb; text column 'review', label column 'sentiment')", lines[0]);
        Assert.Equal("labels: negative 4 (50.0 %), positive 4 (50.0 %)", lines[1]);
        Assert.Equal("majority baseline: accuracy 0.5000 by always answering negative", lines[2]);
        Assert.StartsWith("order: sorted by label — negative (lines 2-5), positive (lines 6-9)", lines[3], StringComparison.Ordinal);
        // The fixture's vocab.txt sits in an HF directory: its tokenizer_config.json decides lower-casing.
        Assert.Equal($"word pieces per example, [CLS]/[SEP] included ({Vocab}, lower-casing on (do_lower_case in {Path.Combine(Path.GetDirectoryName(Vocab)!, "tokenizer_config.json")})):", lines[4]);
        Assert.Equal($"  min {expected[0]}  p50 {DatasetStats.Percentile(expected, 50):0.#}  p90 {DatasetStats.Percentile(expected, 90):0.#}  " +
                     $"p95 {DatasetStats.Percentile(expected, 95):0.#}  p99 {DatasetStats.Percentile(expected, 99):0.#}  max {expected[^1]}  mean {expected.Average():0.0}", lines[5]);
        Assert.Equal($"  longer than: 8 {100.0 * expected.Count(l => l > 8) / 8:0.0} %  100 0.0 %", lines[6]);
    }

    [Fact]
    public void Labels_are_shares_of_the_labelled_examples_the_unlabelled_are_counted_and_names_shown_as_data()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("d.jsonl");
        File.WriteAllText(path, "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\"}\n{\"text\": \"c\", \"label\": \"x\"}\n{\"text\": \"d\", \"label\": \"y\"}\n");
        var r = CliRunner.Run("data", "stats", path, "--task", "jsonl");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n');
        // x 2 and y 1 of 3 labelled examples; they were 50 % and 25 % of all 4, and the baseline 0.5.
        Assert.Equal("labels: x 2 (66.7 %), y 1 (33.3 %); 1 example without a label", lines[1]);
        Assert.Equal("majority baseline: accuracy 0.6667 by always answering x (of the 3 labelled examples)", lines[2]);

        // The data's names are shown as data, one line per item: an escape in a label or the file's name drove the terminal,
        // and a label with a line break split the labels line.
        var odd = tmp.File("e\u001b[31m.jsonl");
        File.WriteAllLines(odd, [.. Enumerable.Repeat("{\"text\": \"a\", \"label\": \"x\\u001b[31m\"}", 6), .. Enumerable.Repeat("{\"text\": \"c\", \"label\": \"y\\nz\"}", 2)]);
        var shown = CliRunner.Run("data", "stats", odd, "--task", "jsonl");
        Assert.True(shown.ExitCode == 0, shown.StdErr);
        Assert.Equal([
            $"{tmp.Path}/e\\x1b[31m.jsonl: 8 examples (task jsonl; text column 'text', label column 'label')",
            "labels: x\\x1b[31m 6 (75.0 %), y z 2 (25.0 %)",
            "majority baseline: accuracy 0.7500 by always answering x\\x1b[31m",
            "order: sorted by label — x\\x1b[31m (lines 1-6), y z (lines 7-8); the file's tail is not a fair validation set (finetune splits stratified by label)",
            "",
        ], shown.StdOut.Split('\n'));
    }

    [Fact]
    public void Regression_labels_are_summarised_with_the_mean_baseline()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("r.tsv");
        File.WriteAllText(path, "text\tlabel\na\t1\nb\t2\nc\t4\nd\t5\n");
        // A regression file said nothing about its labels. Mean 3, population variance (4+1+1+4)/4 = 2.5, std 1.5811.
        var r = CliRunner.Run("data", "stats", path, "--task", "tsv", "--regression");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n');
        Assert.Equal("labels (regression): 4 values, min 1  max 5  mean 3  std 1.5811", lines[1]);
        Assert.Equal("mean baseline: mse 2.5000 by always answering 3", lines[2]);
        var unlabelled = tmp.File("u.tsv");
        File.WriteAllText(unlabelled, "text\na\n");
        var none = CliRunner.Run("data", "stats", unlabelled, "--task", "tsv", "--regression");
        Assert.True(none.ExitCode == 0, none.StdErr);
        Assert.Equal("labels: none (no example has the label column 'label')", none.StdOut.Split('\n')[1]);
    }

    [Fact]
    public void A_label_column_found_in_no_example_is_refused_when_named_and_said_when_defaulted()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("d.csv");
        File.WriteAllText(path, "text,label\nfine,pos\nbad,neg\n");
        // A typo in --label-column was reported as "label column 'labl'" with no labels, exit 0.
        CliRunner.Run("data", "stats", path, "--task", "csv", "--label-column", "labl")
            .AssertOneLineError($"error: {path}: no example has the label column 'labl' of --label-column");
        var unlabelled = tmp.File("u.csv");
        File.WriteAllText(unlabelled, "text\nfine\nbad\n");
        var r = CliRunner.Run("data", "stats", unlabelled, "--task", "csv");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("labels: none (no example has the label column 'label')", r.StdOut.Split('\n')[1]);
        CliRunner.Run("data", "stats", path, "--task", "csv", "--lengths", ",,").AssertOneLineError("error: --lengths ',,': expected positive numbers separated by commas.");
    }

    [Fact]
    public void Stats_of_a_pair_task_with_a_model_report_its_trained_length()
    {
        var mrpc = Path.Combine(TestPaths.Fixtures, "data", "mrpc_train.tsv");
        var model = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        var r = CliRunner.Run("data", "stats", mrpc, "--task", "mrpc", "--model", model);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("pair column '#2 String'", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("labels: equivalent 2 (50.0 %), not_equivalent 2 (50.0 %)", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("trained to 64 tokens", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("  longer than: 64 ", r.StdOut, StringComparison.Ordinal);

        var counts = CliRunner.Run("data", "stats", mrpc, "--task", "mrpc");
        Assert.True(counts.ExitCode == 0, counts.StdErr);
        Assert.DoesNotContain("word pieces", counts.StdOut, StringComparison.Ordinal);

        var bad = CliRunner.Run("data", "stats", mrpc, "--task", "mrpc", "--lengths", "x");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--lengths x: expected positive numbers", bad.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_row_with_more_fields_than_the_header_is_a_one_line_error()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("x.tsv");
        File.WriteAllText(path, "text\tlabel\na\t1\nb\t2\textra\n");
        CliRunner.Run("data", "stats", path, "--task", "tsv")
            .AssertOneLineError($"error: {path} line 3: the row has 3 fields, expected 2 (the header's columns: text, label); a tab inside a text splits it.");
    }

    [Fact]
    public void Help_offers_only_the_tasks_stats_reads_and_a_head_task_is_refused_with_them()
    {
        var help = CliRunner.Run("data", "stats", "--help");
        Assert.True(help.ExitCode == 0, help.StdErr);
        var task = help.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("--task", StringComparison.Ordinal));
        Assert.Contains("imdb, cola, sst2, mrpc", task, StringComparison.Ordinal);
        foreach (var head in new[] { "ner", "squad", "swag" })
        {
            Assert.DoesNotContain(head, task, StringComparison.Ordinal);
        }

        var conll = Path.Combine(TestPaths.RepoRoot, "samples", "ner", "train.conll");
        var r = CliRunner.Run("data", "stats", conll, "--task", "ner");
        Assert.Equal(2, r.ExitCode);
        // Refused as the head task it is, not as an unknown one (A_head_task_given_to_a_command_reading_classification_data_...).
        Assert.Equal($"error: --task ner: data stats covers the text-classification tasks ({string.Join(", ", TaskSpec.Names)}), not ner; " +
                     "no command gives statistics of ner files yet ('bert finetune --task ner' reads and checks one).", r.StdErr.Trim());
    }
}
