using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data.Pretraining;

public partial class PretrainDataCommandTests
{
    internal static string UncasedVocab(TempDir tmp)
    {
        var path = tmp.File("vocab.txt");
        using var gz = new GZipStream(File.OpenRead(Path.Combine(TestPaths.Fixtures, "tokenization", "bert-base-uncased-vocab.txt.gz")), CompressionMode.Decompress);
        using var f = File.Create(path);
        gz.CopyTo(f);
        return path;
    }

    private static double Percent(string report, string label)
    {
        var m = Regex.Match(report, Regex.Escape(label) + @"\s+([0-9.]+) %");
        Assert.True(m.Success, $"'{label}' not in report:\n{report}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 100;
    }

    [Fact]
    public void Builds_the_bundled_sample_with_wordpiece_and_reports_googles_statistics()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        var r = CliRunner.Run("pretrain-data", "--input", Path.Combine(TestPaths.RepoRoot, "samples", "corpus"), "--vocab", vocab,
            "--output", tmp.File("data"), "--dupe-factor", "3", "--seed", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("imdb_unsup_sample.txt.gz: document-per-line, 1,000 documents", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("pg11_alice.txt: book, 12 documents", r.StdOut, StringComparison.Ordinal);

        var s = CliRunner.Run("pretrain-data", "--stats", tmp.File("data"));
        Assert.True(s.ExitCode == 0, s.StdErr);
        Assert.InRange(Percent(s.StdOut, "masked"), 0.145, 0.155);
        Assert.InRange(Percent(s.StdOut, "-> [MASK]"), 0.79, 0.81);
        Assert.InRange(Percent(s.StdOut, "-> random token"), 0.09, 0.11);
        Assert.InRange(Percent(s.StdOut, "-> unchanged"), 0.09, 0.11);
        Assert.InRange(Percent(s.StdOut, "next sentence"), 0.49, 0.51);
        Assert.Matches(@"max 128\)", s.StdOut);
        Assert.Contains("113-128", s.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Masked_share_of_packed_data_leaves_the_document_separators_out()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        // Three documents of 5 + 4 + 3 single-piece words: one packed instance [CLS] d [SEP] d [SEP] d [SEP] of 12 words, 4 specials.
        File.WriteAllText(tmp.File("c.txt"), "one two three four five\n\nsix seven eight nine\n\nten eleven twelve\n");
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("data"), "--objective", "mlm",
            "--max-length", "32", "--dupe-factor", "1", "--masked-lm-prob", "0.25", "--seed", "3");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var manifest = PretrainingManifest.Load(tmp.File("data"));
        Assert.Equal((1, 16), (manifest.Instances, manifest.Tokens));
        Assert.InRange(manifest.MaskedTokens, 1, 11);
        var share = (manifest.MaskedTokens * 100.0 / 12).ToString("F2", CultureInfo.InvariantCulture);
        Assert.Contains($"({share} % masked, one packed segment per instance", r.StdOut, StringComparison.Ordinal);

        var s = CliRunner.Run("pretrain-data", "--stats", tmp.File("data"));
        Assert.True(s.ExitCode == 0, s.StdErr);
        Assert.Contains($"masked               {share} % of 12 non-special tokens ({manifest.MaskedTokens} predictions", s.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "error: empty corpus: {0}/e0.txt holds no text.")]
    [InlineData(2, "error: empty corpus: none of the 2 input files holds any text ({0}/e0.txt, {0}/e1.txt).")]
    public void Empty_corpus_is_a_one_line_error_naming_its_files_and_writes_nothing(int files, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        var inputs = Enumerable.Range(0, files).Select(i => tmp.File($"e{i}.txt")).ToArray();
        foreach (var f in inputs)
        {
            File.WriteAllText(f, "\n\n");
        }
        var r = CliRunner.Run(["pretrain-data", "--input", .. inputs, "--vocab", vocab, "--output", tmp.File("data")]);
        Assert.Equal(2, r.ExitCode);
        Assert.EndsWith("\n" + string.Format(CultureInfo.InvariantCulture, expected, tmp.Path), r.StdErr.Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("data")));
        Assert.Empty(Directory.GetDirectories(tmp.Path));
    }

    [Theory]
    [InlineData("lines", "c.txt: lines, 4 documents, 5 sentences")]
    [InlineData("document-per-line", "c.txt: document-per-line, 5 documents, 5 sentences")]
    [InlineData(" BOOK ", "c.txt: book, 2 documents, 3 sentences")]
    [InlineData("auto", "c.txt: book, 2 documents, 3 sentences")]
    public void Format_reads_the_corpus_in_the_layout_it_names(string format, string expected)
    {
        // The Gutenberg marker makes auto read a book: each forced layout counts this file's documents differently (blank
        // lines, every line, chapters; the marker and the heading are text only outside a book), and only auto was run.
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        File.WriteAllText(tmp.File("c.txt"), "*** START OF THE BOOK ***\none two.\n\nthree four.\n\nCHAPTER II\n\nfive six.\n");
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("data"), "--objective", "mlm",
            "--max-length", "16", "--dupe-factor", "1", "--format", format);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains(expected + ", ", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_counts_each_input_in_the_singular_or_the_plural_and_warns_of_one_without_text()
    {
        // A researcher's one-line file read "1 documents, 1 sentences".
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        File.WriteAllText(tmp.File("one.txt"), "hello\n");
        File.WriteAllText(tmp.File("two.txt"), "one two.\n\nThree four. Five six.\n");
        File.WriteAllText(tmp.File("empty.txt"), "");
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("one.txt"), tmp.File("two.txt"), tmp.File("empty.txt"), "--vocab", vocab,
            "--output", tmp.File("data"), "--objective", "mlm", "--max-length", "16", "--dupe-factor", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("one.txt: lines, 1 document, 1 sentence, 1 token\n", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("two.txt: lines, 2 documents, 3 sentences, 9 tokens\n", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("empty.txt: lines, 0 documents, 0 sentences, 0 tokens\n", r.StdOut, StringComparison.Ordinal);
        // An input without text among others is read and said to add nothing (a file of its own alone is an error, above).
        var warning = Assert.Single(r.StdErr.Split('\n'), l => l.StartsWith("warning: ", StringComparison.Ordinal));
        Assert.Equal($"warning: {tmp.File("empty.txt")}: no text; it adds nothing to the data.", warning);
    }

    [Fact]
    public void An_unknown_format_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        File.WriteAllText(tmp.File("c.txt"), "one two.\n");
        var line = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("data"), "--format", "paragraphs")
            .AssertOneLineError();
        Assert.Equal("error: --format paragraphs: expected auto, lines, document-per-line or book.", line);
        Assert.Equal(["c.txt", "vocab.txt"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_vocabulary_without_mask_is_refused_naming_it_before_the_corpus_is_read()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\ndoc\none\n");
        // The corpus is not UTF-8, an error of its own once it is read: the vocabulary's comes first.
        File.WriteAllBytes(tmp.File("c.txt"), [.. "doc one.\n\n"u8, 0xFF, .. "\n"u8]);
        CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", tmp.File("vocab.txt"), "--output", tmp.File("data"))
            .AssertOneLineError($"error: --vocab {tmp.File("vocab.txt")}: the vocabulary has no [MASK] token (needed for pre-training data).");
        Assert.False(Directory.Exists(tmp.File("data")));
    }

    [Fact]
    public void Pretrain_names_the_vocabulary_without_mask_it_was_given()
    {
        using var tmp = TestPaths.TempDir();
        // Data whose manifest records this vocab.txt, in which [MASK] is spelled otherwise: the data check passes, masking cannot.
        var (data, vocab) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1, vocabToken: t => t == "[MASK]" ? "[MASX]" : t);
        CliRunner.Run("pretrain", "--data", data, "--config", "tiny", "--vocab", vocab, "--output", tmp.File("run"), "--steps", "1", "--device", "cpu")
            .AssertOneLineError($"error: --vocab {vocab}: the vocabulary has no [MASK] token (needed for pre-training data).");
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    // These named the path only as the library held it, in a plain message the CLI could not tie to its flag.
    [Fact]
    public void Pretrain_names_a_vocabulary_of_other_data_by_its_flag()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var other = tmp.File("other-vocab.txt");
        File.WriteAllLines(other, [.. File.ReadAllLines(vocab), "extra"]);
        CliRunner.Run("pretrain", "--data", data, "--config", "tiny", "--vocab", other, "--output", tmp.File("run"), "--steps", "1", "--device", "cpu")
            .AssertOneLineError($"error: --vocab {other}: vocabulary does not match the data in {data} (sha256 ");
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Fact]
    public void Pretrain_names_a_missing_vocabulary_or_model_directory_by_its_flag()
    {
        using var tmp = TestPaths.TempDir();
        var (data, _) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        CliRunner.Run("pretrain", "--data", data, "--config", "tiny", "--vocab", tmp.File("none.txt"), "--output", tmp.File("run"), "--steps", "1", "--device", "cpu")
            .AssertOneLineError($"error: --vocab {tmp.File("none.txt")}: vocabulary file not found.");
        CliRunner.Run("pretrain", "--data", data, "--model", tmp.File("nomodel"), "--output", tmp.File("run"), "--steps", "1", "--device", "cpu")
            .AssertOneLineError($"error: --model {tmp.File("nomodel")}: model directory not found.");
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Fact]
    public void Pretrain_names_a_model_directory_without_its_vocabulary_by_its_flag()
    {
        using var tmp = TestPaths.TempDir();
        var (data, _) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var model = tmp.File("model");
        TestPaths.CopyTree(Modeling.HfFixture.Dir("base-model"), model);
        File.Delete(Path.Combine(model, "vocab.txt"));
        File.Delete(Path.Combine(model, "tokenizer_config.json"));
        var r = CliRunner.Run("pretrain", "--data", data, "--model", model, "--output", tmp.File("run"), "--steps", "1", "--device", "cpu");
        // The model's load report waits until the run is checked, so the refusal prints alone.
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.StdOut);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"error: --model {model}: vocab.txt: not found; the model directory needs the vocab.txt its data was built with."], lines);
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    // The output was found unwritable only once the whole corpus had been tokenized and every instance built. A missing input
    // and an output's corrupt marker are named by their flags as typed: the library names the path alone or in full.
    [Fact]
    public void An_output_that_cannot_be_written_or_a_missing_input_is_refused_before_the_corpus_is_read()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = UncasedVocab(tmp);
        // The corpus is not UTF-8, an error of its own once it is read: the output's comes first.
        File.WriteAllBytes(tmp.File("c.txt"), [.. "doc one.\n\n"u8, 0xFF, .. "\n"u8]);
        CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", "/proc/d")
            .AssertOneLineError("error: --output /proc/d: cannot be written (no such file or directory).");
        CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), tmp.File("gone.txt"), "--vocab", vocab, "--output", tmp.File("data"))
            .AssertOneLineError($"error: --input {tmp.File("gone.txt")}: not found; expected a corpus file or directory.");
        Directory.CreateDirectory(tmp.File("data"));
        File.WriteAllText(tmp.File("data/.bertsharp"), "not json");
        Assert.StartsWith($"error: --output {tmp.Path}/./data: .bertsharp: not a valid BertSharp marker (",
            CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.Path + "/./data").AssertOneLineError(),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Stats_of_a_directory_without_manifest_is_an_error()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("pretrain-data", "--stats", tmp.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("manifest.json: not found", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Stats_of_a_manifest_with_a_duplicate_key_is_a_one_line_error()
    {
        using var tmp = TestPaths.TempDir();
        var manifest = tmp.File("manifest.json");
        File.WriteAllText(manifest, PretrainingDataTests.ManifestJson().Replace("\"instances\":3,", "\"instances\":3,\"instances\":4,", StringComparison.Ordinal));
        CliRunner.Run("pretrain-data", "--stats", tmp.Path).AssertOneLineError($"{manifest}: duplicate key 'instances'.");
    }
}
