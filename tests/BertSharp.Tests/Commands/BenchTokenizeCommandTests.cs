using System.IO.Compression;
using System.Text.Json;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Commands;

public class BenchTokenizeCommandTests
{
    private static string WriteVocab(TempDir tmp)
    {
        var path = tmp.File("vocab.txt");
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n!\n,\n##s\n");
        return path;
    }

    private static List<JsonElement> Lines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void Counts_texts_and_tokens_of_a_text_file_for_each_thread_count()
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File("texts.txt");
        // [CLS] hello world ! [SEP] = 5; [CLS] worlds -> world ##s, zzz -> [UNK] [SEP] = 5; the empty line and the line of
        // white space are not texts, as in embed (the latter was timed as [CLS] [SEP]).
        File.WriteAllText(input, "Hello world!\n\n \t\nworlds zzz\n");
        var r = CliRunner.Run("bench", "tokenize", "--vocab", WriteVocab(tmp), "--input", input, "--threads", "1,2", "--rounds", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = Lines(r.StdOut);
        Assert.Equal([1, 2], lines.Select(l => l.GetProperty("threads").GetInt32()));
        foreach (var l in lines)
        {
            Assert.Equal(2, l.GetProperty("texts").GetInt32());
            Assert.Equal(10, l.GetProperty("tokens").GetInt64());
            Assert.True(l.GetProperty("seconds").GetDouble() > 0);
            Assert.True(l.GetProperty("tokens_per_second").GetDouble() > 0);
        }
    }

    [Fact]
    public void Reads_the_review_column_of_a_gzipped_csv()
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File("reviews.csv.gz");
        using (var gz = new GZipStream(File.Create(input), CompressionLevel.Fastest))
        {
            // The quoted review holds a comma and a doubled quote: [CLS] hello , " world [SEP] -> '"' is [UNK]: 6 tokens.
            gz.Write("review,sentiment\n\"hello, \"\"world\",positive\nhello,negative\n"u8);
        }
        var r = CliRunner.Run("bench", "tokenize", "--vocab", WriteVocab(tmp), "--input", input, "--rounds", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var line = Assert.Single(Lines(r.StdOut));
        Assert.Equal(2, line.GetProperty("texts").GetInt32());
        Assert.Equal(6 + 3, line.GetProperty("tokens").GetInt64());
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Imdb_test_reviews_give_hfs_token_count()
    {
        // 7,669,275 = the total of HF tokenizers' encodings (with [CLS]/[SEP]) of the 25,000 reviews, from bench/README.md.
        var vocab = TestPaths.RequireShared("data", "vocab", "bert-base-uncased-vocab.txt");
        var input = TestPaths.RequireShared("data", "imdb", "test.csv.gz");
        var r = CliRunner.Run("bench", "tokenize", "--vocab", vocab, "--input", input, "--rounds", "1", "--threads", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var line = Assert.Single(Lines(r.StdOut));
        Assert.Equal(25_000, line.GetProperty("texts").GetInt32());
        Assert.Equal(7_669_275, line.GetProperty("tokens").GetInt64());
    }

    [Theory]
    [InlineData("--threads", "0", "--threads: expected positive integers")]
    [InlineData("--threads", "1,x", "--threads: expected positive integers")]
    [InlineData("--rounds", "0", "--rounds must be at least 1")]
    public void Bad_options_are_errors(string option, string value, string message)
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File("t.txt");
        File.WriteAllText(input, "hello\n");
        var r = CliRunner.Run("bench", "tokenize", "--vocab", WriteVocab(tmp), "--input", input, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.StdErr, StringComparison.Ordinal);
    }

    // Both columns the command reads are named: 'text' alone read as if 'review' were not accepted. A .tsv or .jsonl file was
    // timed as plain lines, its tabs, braces and quotes with them; a blank file was "no texts to tokenize", in no other
    // command's words.
    [Theory]
    [InlineData("x.csv", "a,b\n1,2\n", "error: {0}: expected a column 'review' or 'text' in the header; it has a,b.")]
    [InlineData("x.tsv", "text\tlabel\nhello\t1\n", "error: {0}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).")]
    [InlineData("x.jsonl", "{\"text\": \"hello\"}\n", "error: {0}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).")]
    [InlineData("x.txt", "", "error: --input {0}: empty file; expected one text per line.")]
    [InlineData("x.txt", "\n  \n", "error: --input {0}: no texts, only blank lines; expected one text per line.")]
    [InlineData("x.csv", "text\n", "error: --input {0}: no rows after the header; expected one text per row.")]
    // A short row and a blank text, after an empty line (no row) and a quoted text over two lines: refused by line, as the
    // HF peer refuses them; the blank text was timed as [CLS] [SEP].
    [InlineData("x.csv", "a,text\n1,hello\n\n2\n", "error: {0} line 4: missing field 'text' (the row has 1 field, expected 2).")]
    [InlineData("x.csv", "text,x\n\n\"a\nb\",1\n  ,2\n", "error: {0} line 5: field 'text' is empty; expected text.")]
    public void Input_without_texts_to_time_is_an_error(string name, string content, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File(name);
        File.WriteAllText(input, content);
        var r = CliRunner.Run("bench", "tokenize", "--vocab", WriteVocab(tmp), "--input", input);
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, input), r.AssertOneLineError());
    }

    // bench/tokenize.sh's HF peer reads the same inputs: it refused them with a stack trace and exit code 1, a file of
    // blank lines was timed as no texts (tokens/s NaN), and a line of spaces as a text where bert skips it.
    [SkippableTheory]
    [InlineData("x.tsv", "text\tlabel\nhello\t1\n", "{0}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).")]
    [InlineData("x.csv", "a,b\n1,2\n", "{0}: expected a column 'review' or 'text' in the header; it has a,b.")]
    [InlineData("x.txt", "\n  \n", "{0}: no texts, only blank lines; expected one text per line.")]
    // As bert's reader (above): a short row was dropped, an empty line read as a blank text, and a blank text timed.
    [InlineData("x.csv", "a,text\n1,hello\n\n2\n", "{0} line 4: missing field 'text' (the row has 1 field, expected 2).")]
    [InlineData("x.csv", "text,x\n\n\"a\nb\",1\n  ,2\n", "{0} line 5: field 'text' is empty; expected text.")]
    [InlineData("x.csv", "text\n\n\n", "{0}: no rows after the header; expected one text per row.")]
    public void Hf_peer_refuses_input_in_one_line(string name, string content, string expected)
    {
        Skip.If(TestScripts.FindOnPath("node") is null, "node is not installed");
        using var tmp = TestPaths.TempDir();
        var input = tmp.File(name);
        File.WriteAllText(input, content);
        var (exit, stdout, stderr) = TestScripts.RunNode("hf_tokenize.js", WriteVocab(tmp), input);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, input) + "\n", stderr);
    }
}
