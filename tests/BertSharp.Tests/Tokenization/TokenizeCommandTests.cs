using System.Text.Json;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Tokenization;

/// <summary><c>bert tokenize</c>: output against the HF golden lines, options, and bad input (one-line error, exit 2, no output).</summary>
public class TokenizeCommandTests
{
    [Fact]
    public void JsonlInputReproducesTheGoldenFile()
    {
        using var dir = TestPaths.TempDir();
        var golden = TokenizationFixtures.GoldenLines("bert-base-cased").Take(60).ToList();
        File.WriteAllLines(dir.File("in.jsonl"), golden);
        var r = CliRunner.Run("tokenize", "--vocab", TokenizationFixtures.VocabPath("bert-base-cased"), "--lowercase", "false",
            "--input", dir.File("in.jsonl"), "--output", dir.File("out.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var output = File.ReadAllLines(dir.File("out.jsonl"));
        Assert.Equal(golden.Count, output.Length);
        for (var i = 0; i < golden.Count; i++)
        {
            using var expected = JsonDocument.Parse(golden[i]);
            using var actual = JsonDocument.Parse(output[i]);
            foreach (var field in new[] { "tokens", "ids", "type_ids", "offsets" })
            {
                Assert.Equal(expected.RootElement.GetProperty(field).GetRawText(), actual.RootElement.GetProperty(field).GetRawText());
            }
            Assert.All(actual.RootElement.GetProperty("attention_mask").EnumerateArray(), m => Assert.Equal(1, m.GetInt32()));
        }
    }

    [Fact]
    public void PlainTextToStdoutWithTruncationPaddingAndStride()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("in.txt"), "hello world\nsecond line here\n");
        var r = CliRunner.Run("tokenize", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.txt"),
            "--max-length", "4", "--stride", "1", "--padding", "max_length");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("[101,2117,2240,102]", second.RootElement.GetProperty("ids").GetRawText());
        var overflow = second.RootElement.GetProperty("overflowing");
        Assert.Equal(1, overflow.GetArrayLength());
        Assert.Equal("[101,2240,2182,102]", overflow[0].GetProperty("ids").GetRawText());
        Assert.Equal("[[0,0],[7,11],[12,16],[0,0]]", overflow[0].GetProperty("offsets").GetRawText());
    }

    [Fact]
    public void LongestPaddingPadsTheWholeInput()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("in.txt"), "hello\nhello world again\n");
        var r = CliRunner.Run("tokenize", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.txt"),
            "--padding", "longest", "--output", dir.File("out.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var first = JsonDocument.Parse(File.ReadAllLines(dir.File("out.jsonl"))[0]).RootElement;
        Assert.Equal("[101,7592,102,0,0]", first.GetProperty("ids").GetRawText());
        Assert.Equal("[1,1,1,0,0]", first.GetProperty("attention_mask").GetRawText());
    }

    public static TheoryData<string, byte[], string> BadVocabs => new()
    {
        { "dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nhello\n"u8.ToArray(), "duplicate token 'hello'" },
        { "nounk.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n"u8.ToArray(), "[UNK]" },
        { "latin1.txt", [0x5B, 0x55, 0x4E, 0x4B, 0x5D, 0x0A, 0x63, 0x61, 0x66, 0xE9, 0x0A], "not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(BadVocabs))]
    public void BadVocabularyFailsCleanly(string name, byte[] content, string expected)
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllBytes(dir.File(name), content);
        File.WriteAllText(dir.File("in.txt"), "hello\n");
        AssertFailsCleanly(dir, expected, "--vocab", dir.File(name), "--input", dir.File("in.txt"));
    }

    [Fact]
    public void MalformedJsonlNamesTheLine()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"\n");
        AssertFailsCleanly(dir, "line 3", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.jsonl"));
        // System.Text.Json's own "LineNumber: 0" (0-based, of the one line it was given) contradicted "line 2".
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"text\": .5}\n");
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 2: not valid JSON ('.' is an invalid start of a value)",
            "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.jsonl"));
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n");
        AssertFailsCleanly(dir, "line 2", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.jsonl"));
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"text\": 5}\n");
        AssertFailsCleanly(dir, "line 2: field \"text\" is a JSON number; expected a string.", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.jsonl"));
    }

    [Fact]
    public void A_key_given_twice_names_the_line_and_the_key()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"b\", \"text_pair\": \"c\", \"text\": \"d\"}\n");
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 2: duplicate key 'text'.",
            "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", dir.File("in.jsonl"));
    }

    [Fact]
    public void UnreadableOrInvalidInputFailsCleanly()
    {
        using var dir = TestPaths.TempDir();
        var vocab = TokenizationFixtures.VocabPath("bert-base-uncased");
        AssertFailsCleanly(dir, "missing.txt", "--vocab", vocab, "--input", dir.File("missing.txt"));
        File.WriteAllBytes(dir.File("bad.txt"), [0x61, 0x0A, 0x62, 0xFF, 0x0A]);
        AssertFailsCleanly(dir, "line 2: invalid UTF-8", "--vocab", vocab, "--input", dir.File("bad.txt"));
        File.WriteAllText(dir.File("single.txt"), "one two three four five\n");
        AssertFailsCleanly(dir, "only_second", "--vocab", vocab, "--input", dir.File("single.txt"), "--max-length", "4", "--truncation", "only_second");
    }

    [Fact]
    public void A_text_the_options_cannot_encode_is_named_by_its_line_and_the_flags()
    {
        using var dir = TestPaths.TempDir();
        var vocab = TokenizationFixtures.VocabPath("bert-base-uncased");
        // Line 4 (after a blank line, which JSONL skips) is the only pair: 2 + 2 word pieces and 3 specials in --max-length 5
        // leave 1 piece for each text, which a stride of 1 cannot step through; the single texts fit.
        File.WriteAllText(dir.File("in.jsonl"), "{\"text\": \"a\"}\n{\"text\": \"b\"}\n\n{\"text\": \"hello world\", \"text_pair\": \"the cat\"}\n");
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 4: --stride 1 must be smaller than the 1 tokens left for the text after truncation (--max-length minus",
            "--vocab", vocab, "--input", dir.File("in.jsonl"), "--max-length", "5", "--stride", "1");
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 4: --truncation only_second: the second text has 2 tokens, too few to remove the 2 needed to fit --max-length;",
            "--vocab", vocab, "--input", dir.File("in.jsonl"), "--max-length", "5", "--truncation", "only_second");
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 4: --max-length 2 is smaller than the 3 special tokens",
            "--vocab", vocab, "--input", dir.File("in.jsonl"), "--max-length", "2");
        // The same with --padding longest, which encodes the whole input at once.
        AssertFailsCleanly(dir, $"error: {dir.File("in.jsonl")} line 4: --max-length 2 is smaller",
            "--vocab", vocab, "--input", dir.File("in.jsonl"), "--max-length", "2", "--padding", "longest");
    }

    [Fact]
    public void Auto_format_decides_on_the_first_line_that_is_not_blank()
    {
        using var dir = TestPaths.TempDir();
        var vocab = TokenizationFixtures.VocabPath("bert-base-uncased");
        File.WriteAllText(dir.File("in.jsonl"), "\n  \n{\"text\": \"hello\"}\n");
        var r = CliRunner.Run("tokenize", "--vocab", vocab, "--input", dir.File("in.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["{\"tokens\":[\"[CLS]\",\"hello\",\"[SEP]\"],\"ids\":[101,7592,102],\"type_ids\":[0,0,0],\"attention_mask\":[1,1,1],\"offsets\":[[0,0],[0,5],[0,0]]}"],
            r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Plain text after blank lines keeps them: one (empty) encoding per line, as --format text gives.
        File.WriteAllText(dir.File("in.txt"), "\nhello\n");
        r = CliRunner.Run("tokenize", "--vocab", vocab, "--input", dir.File("in.txt"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"ids\":[101,102]", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"ids\":[101,7592,102]", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Tokens_keep_non_ascii_text_readable_and_escape_bidirectional_controls()
    {
        // A tokenizer directory may name any token: an unknown-word token holding U+202E, printed raw, reversed the rest of
        // the line on a terminal.
        using var dir = TestPaths.TempDir();
        File.WriteAllLines(dir.File("vocab.txt"), ["[PAD]", "[UNK\u202e]", "[CLS]", "[SEP]", "[MASK]", "é", "漢", "😀"]);
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"do_lower_case\": false, \"unk_token\": \"[UNK\\u202e]\"}");
        File.WriteAllText(dir.File("in.txt"), "é漢😀 zz\n");
        var r = CliRunner.Run("tokenize", "--vocab", dir.Path, "--input", dir.File("in.txt"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var line = Assert.Single(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("{\"tokens\":[\"[CLS]\",\"é\",\"漢\",\"\\uD83D\\uDE00\",\"[UNK\\u202E]\",\"[SEP]\"],\"ids\":[2,5,6,7,1,3],", line, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(line);
        Assert.Equal(["[CLS]", "é", "漢", "😀", "[UNK\u202e]", "[SEP]"], json.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
    }

    private static void AssertFailsCleanly(TempDir dir, string expected, params string[] args)
    {
        var output = dir.File("out.jsonl");
        var r = CliRunner.Run(["tokenize", .. args, "--output", output]);
        Assert.Equal(2, r.ExitCode);
        var err = r.StdErr.Trim();
        Assert.DoesNotContain('\n', err);
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.False(File.Exists(output), "a failed run left an output file");
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }
}
