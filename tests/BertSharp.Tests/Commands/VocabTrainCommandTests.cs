using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using BertSharp.Tokenization.Training;

namespace BertSharp.Tests.Commands;

public class VocabTrainCommandTests
{
    private static string Alice => Path.Combine(TestPaths.Fixtures, "tokenization", "wordpiece_trainer", "alice.txt.gz");

    [Fact]
    public void Trains_the_same_vocabulary_as_the_library_with_hf_bert_defaults()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out\u202e/vocab.txt");
        var r = CliRunner.Run("vocab", "train", "--input", Alice, "--vocab-size", "2000", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        // The output's path is shown as data: U+202E reversed the rest of the line.
        Assert.StartsWith($"wrote {tmp.File("out\\u202e/vocab.txt")}: 2000 tokens", r.StdOut, StringComparison.Ordinal);

        var written = File.ReadAllLines(output);
        var counts = WordCounter.CountBertWords(TextLines.Read(Alice), new NormalizerOptions(Lowercase: true));
        var expected = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 2000 }).Train(counts).Tokens;
        Assert.Equal(expected, written);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], written[..5]);

        // The result is a working BERT vocabulary: common words are single tokens, rare ones split into pieces.
        var tokenizer = BertTokenizer.FromVocabFile(output);
        Assert.Equal(["alice", "was", "beginning", "to", "get", "very", "tired"], tokenizer.Tokenize("Alice was beginning to get very tired"));
        var pieces = tokenizer.Tokenize("Unbirthday");
        Assert.True(pieces.Count > 1 && pieces.Skip(1).All(p => p.StartsWith("##", StringComparison.Ordinal)), string.Join(" ", pieces));
        Assert.Equal("unbirthday", string.Concat(pieces).Replace("##", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Cased_training_keeps_case_and_accents()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("c.txt");
        File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("Café CAFÉ café\n", 5)));
        var output = tmp.File("vocab.txt");
        var r = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "100", "--lowercase", "false", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var vocab = File.ReadAllLines(output);
        Assert.Contains("Café", vocab);
        Assert.Contains("CAFÉ", vocab);
        Assert.Contains("café", vocab);
    }

    [Fact]
    public void Reads_several_inputs_and_folders_as_pretrain_data_does_and_warns_of_one_without_text()
    {
        using var tmp = TestPaths.TempDir();
        var a = tmp.File("a.txt");
        var b = tmp.File("b.txt");
        File.WriteAllText(a, "xyz xyz\n");
        File.WriteAllText(b, "xyz\n");
        var output = tmp.File("vocab.txt");
        // "xyz" three times across the two files passes --min-frequency 3; from one file alone it would not.
        var r = CliRunner.Run("vocab", "train", "--input", a, b, "--vocab-size", "100", "--min-frequency", "3", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("xyz", File.ReadAllLines(output));
        Assert.Equal("", r.StdErr);
        r = CliRunner.Run("vocab", "train", "--input", a, "--vocab-size", "100", "--min-frequency", "3", "--output", output);
        Assert.DoesNotContain("xyz", File.ReadAllLines(output));

        // A folder is read as pretrain-data reads it (its .txt files, those in folders below too, and nothing else), so the
        // folder the data is built from trains its vocabulary: it was refused as "is a directory; expected a file". Its
        // empty file is said to add nothing, in pretrain-data's words.
        var corpus = tmp.File("corpus");
        Directory.CreateDirectory(Path.Combine(corpus, "more"));
        File.Copy(a, Path.Combine(corpus, "a.txt"));
        File.Copy(b, Path.Combine(corpus, "more", "b.txt"));
        File.WriteAllText(Path.Combine(corpus, "empty.txt"), "\n \n");
        File.WriteAllText(Path.Combine(corpus, "notes.csv"), "qqq qqq qqq\n");
        r = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "100", "--min-frequency", "3", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("xyz", File.ReadAllLines(output));
        Assert.DoesNotContain("qqq", File.ReadAllLines(output));
        Assert.Equal($"warning: {Path.Combine(corpus, "empty.txt")}: no text; it adds nothing to the data.\n", r.StdErr);
    }

    [Fact]
    public void A_file_given_twice_in_different_spellings_is_counted_once()
    {
        using var tmp = TestPaths.TempDir();
        Directory.CreateDirectory(tmp.File("sub"));
        var a = tmp.File("a.txt");
        File.WriteAllText(a, "xyz\n");
        var output = tmp.File("vocab.txt");
        // "xyz" once: x##y and ##y##z have count 1 < --min-frequency 2, so nothing merges. Read once per spelling, it merged.
        var r = CliRunner.Run("vocab", "train", "--input", a, Path.Combine(tmp.Path, ".", "a.txt"), Path.Combine(tmp.Path, "sub", "..", "a.txt"),
            "--vocab-size", "100", "--min-frequency", "2", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "y", "z", "##y", "##z"], File.ReadAllLines(output));
        Assert.EndsWith("note: no pair with frequency >= 2 was left before reaching --vocab-size 100.\n", r.StdOut, StringComparison.Ordinal);

        // With --min-frequency 0 the word merges out (xy, xyz) and merging stops at the first pair seen less than once,
        // which the note said as "frequency >= 0".
        r = CliRunner.Run("vocab", "train", "--input", a, "--vocab-size", "100", "--min-frequency", "0", "--output", output);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "y", "z", "##y", "##z", "xy", "xyz"], File.ReadAllLines(output));
        Assert.EndsWith("note: no pair with frequency >= 1 was left before reaching --vocab-size 100.\n", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_that_is_a_file_of_an_input_folder_is_refused_and_the_corpus_kept()
    {
        // A file typed as --input is refused as --output by the check every command has; one found in an --input folder
        // was read as corpus and then replaced by the vocabulary.
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("c.txt");
        File.WriteAllText(corpus, "abc abc\n");
        var output = Path.Combine(tmp.Path, ".", "c.txt");
        Assert.Equal($"error: --output {output}: is one of the --input files; choose another path for the vocabulary.",
            CliRunner.Run("vocab", "train", "--input", tmp.Path, "--vocab-size", "100", "--output", output).AssertOneLineError());
        Assert.Equal("abc abc\n", File.ReadAllText(corpus));
        Assert.Equal([corpus], Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void A_vocab_size_below_the_initial_tokens_is_explained_with_their_counts()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("c.txt");
        File.WriteAllText(corpus, "abc abc\n");
        var output = tmp.File("vocab.txt");
        // 5 specials + a b c + ##b ##c = 10 tokens before any merge. The specials and the alphabet (8) fit in 9: the note
        // said they "alone exceed --vocab-size 9", sending the user to the alphabet when the ##characters made the excess.
        var r = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "9", "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##b", "##c"], File.ReadAllLines(output));
        Assert.Contains(
            "note: the 5 special tokens, 3 characters and 2 ##characters alone make 10 tokens, more than --vocab-size 9; lower --limit-alphabet or raise --vocab-size.\n",
            r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_corpus_is_an_error_and_writes_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("empty.txt");
        File.WriteAllText(corpus, "\n  \n\t\n");
        var output = tmp.File("vocab.txt");
        var r = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "100", "--output", output);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no words found", r.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Equal([corpus], Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void A_folder_of_many_empty_files_is_one_short_error()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("corpus");
        Directory.CreateDirectory(corpus);
        for (var i = 0; i < 20; i++)
        {
            File.WriteAllText(Path.Combine(corpus, $"{i:D2}.txt"), "\n");
        }
        var output = tmp.File("vocab.txt");
        // Every file was listed in the line.
        var line = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "100", "--output", output).AssertOneLineError();
        var f = (int i) => Path.Combine(corpus, $"{i:D2}.txt");
        Assert.Equal($"error: no words found in any of the 20 input files ({f(0)}, {f(1)}, {f(2)}, …); the corpus is empty.", line);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Invalid_utf8_is_an_error_with_the_line_and_writes_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("bad.txt");
        File.WriteAllBytes(corpus, [.. "good line\nanother\nbad "u8, 0xC3, 0x28, .. "\n"u8]);
        var output = tmp.File("vocab.txt");
        var r = CliRunner.Run("vocab", "train", "--input", corpus, "--vocab-size", "100", "--output", output);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{corpus} line 3: invalid UTF-8", r.StdErr, StringComparison.Ordinal);
        Assert.Single(r.StdErr.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Truncated_gzip_is_an_error_and_writes_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var full = tmp.File("full.txt.gz");
        using (var gz = new System.IO.Compression.GZipStream(File.Create(full), System.IO.Compression.CompressionLevel.Optimal))
        {
            gz.Write(System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i} of a corpus\n"))));
        }
        // An interrupted download: the file stops in the middle of the compressed data, 10 bytes before its end.
        var bytes = File.ReadAllBytes(full);
        var cut = tmp.File("cut.txt.gz");
        File.WriteAllBytes(cut, bytes[..^10]);
        var output = tmp.File("vocab.txt");
        var r = CliRunner.Run("vocab", "train", "--input", cut, "--vocab-size", "100", "--output", output);
        r.AssertOneLineError($"{cut}: not a valid gzip file");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void The_bert_tool_turns_on_strict_gzip_validation()
    {
        // The switch lives in the tool's runtimeconfig.json (Directory.Build.props); without it the test above passes only here.
        var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "bert.runtimeconfig.json"));
        using var doc = System.Text.Json.JsonDocument.Parse(config);
        var value = doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").GetProperty("System.IO.Compression.UseStrictValidation");
        Assert.True(value.GetBoolean());
    }

    [Fact]
    public void Missing_input_and_bad_sizes_are_errors()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("vocab.txt");
        // Named by the flag and the value as typed, the one at fault among several (the library names the path alone).
        Assert.Equal($"error: --input {tmp.File("nope.txt")}: not found; expected a corpus file or directory.",
            CliRunner.Run("vocab", "train", "--input", tmp.File("nope.txt"), "--vocab-size", "100", "--output", output).AssertOneLineError());
        File.WriteAllText(tmp.File("a.txt"), "some text\n");
        Directory.CreateDirectory(tmp.File("empty"));
        Assert.Equal($"error: --input {tmp.File("empty")}: directory has no .txt or .txt.gz files.",
            CliRunner.Run("vocab", "train", "--input", tmp.File("a.txt"), tmp.File("empty"), "--vocab-size", "100", "--output", output).AssertOneLineError());
        // Refused in the trainer's words, its fields said as flags, before the corpus is read (the input does not exist).
        foreach (var (flags, expected) in new[]
        {
            (new[] { "--vocab-size", "3" }, "error: --vocab-size 3: expected at least 5 (the special tokens come first)."),
            (["--vocab-size", "100", "--min-frequency", "-1"], "error: --min-frequency -1: expected a number ≥ 0."),
            (["--vocab-size", "100", "--limit-alphabet", "-2"], "error: --limit-alphabet -2: expected a number ≥ 0."),
        })
        {
            Assert.Equal(expected, CliRunner.Run(["vocab", "train", "--input", tmp.File("nope.txt"), "--output", output, .. flags]).AssertOneLineError());
        }
        Assert.False(File.Exists(output));
    }
}
