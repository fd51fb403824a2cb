using System.Globalization;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Tokenization;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// JSON input holding an escaped lone UTF-16 surrogate (<c>"a\ud800b"</c>), through every command that reads JSON it did
/// not write: one line naming the file, the line and the field, exit code 2, and nothing written. System.Text.Json parses
/// such a string but throws an InvalidOperationException when asked for it, which escaped as an internal error.
/// </summary>
public class LoneSurrogateInputTests
{
    private static string Classifier => HfFixture.Dir("sequence-classification");

    private const string Reason = "is not valid text: it holds a lone UTF-16 surrogate ({0}); expected a string of Unicode characters.";

    public static TheoryData<string> Cases => ["finetune jsonl", "predict jsonl", "embed jsonl", "evaluate jsonl", "finetune ner jsonl", "finetune swag jsonl",
        "finetune squad", "convert config.json", "tokenize tokenizer.json", "predict tokenizer_config.json"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Is_refused_in_one_line_naming_file_line_and_field(string name)
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out.jsonl");
        var texts = tmp.File("d.jsonl");
        File.WriteAllText(texts, "{\"text\": \"fine\", \"label\": 0}\n{\"text\": \"a\\ud800b\", \"label\": 1}\n");
        var textError = Expected(texts, 2, "field 'text'", @"\ud800");
        (string[] args, string expected) = name switch
        {
            "finetune jsonl" => (["finetune", "--task", "jsonl", "--data", texts, "--model", Classifier, "--output", output], textError),
            "predict jsonl" => (["predict", "--model", Classifier, "--input", texts, "--output", output], textError),
            "embed jsonl" => (["embed", "--model", HfFixture.Dir("base-model"), "--input", texts, "--output", output], textError),
            "evaluate jsonl" => (["evaluate", "--model", Classifier, "--task", "jsonl", "--data", texts, "--output", output], textError),
            "finetune ner jsonl" => Ner(tmp, output),
            "finetune swag jsonl" => Swag(tmp, output),
            "finetune squad" => Squad(tmp, output),
            "convert config.json" => Config(tmp, output),
            "tokenize tokenizer.json" => TokenizerJson(tmp, output),
            _ => TokenizerConfig(tmp, output),
        };
        var line = CliRunner.Run(args).AssertOneLineError();
        Assert.Equal("error: " + expected, line);
        Assert.False(Path.Exists(output), $"{name} wrote {output}");
    }

    private static string Expected(string path, int line, string field, string escape) =>
        FormattableString.Invariant($"{path} line {line}: {field} ") + string.Format(CultureInfo.InvariantCulture, Reason, escape);

    private static (string[], string) Ner(TempDir tmp, string output)
    {
        var data = tmp.File("n.jsonl");
        File.WriteAllText(data, "{\"tokens\": [\"Emma\", \"ran\"], \"ner_tags\": [\"B-PER\", \"O\"]}\n{\"tokens\": [\"a\", \"b\\udc00\"], \"ner_tags\": [\"O\", \"O\"]}\n");
        return (["finetune", "--task", "ner", "--data", data, "--eval-data", data, "--model", HfFixture.Dir("token-classification"), "--output", output],
            Expected(data, 2, "field 'tokens[1]'", @"\udc00"));
    }

    private static (string[], string) Swag(TempDir tmp, string output)
    {
        var data = tmp.File("w.jsonl");
        // A high surrogate whose low half is missing: the string ends after it.
        File.WriteAllText(data, "{\"sent1\": \"A man\", \"sent2\": \"He\", \"ending0\": \"sits.\", \"ending1\": \"runs \\uD83D\", \"label\": 0}\n");
        return (["finetune", "--task", "swag", "--data", data, "--eval-data", data, "--model", HfFixture.Dir("multiple-choice"), "--output", output],
            Expected(data, 1, "field 'ending1'", @"\uD83D"));
    }

    private static (string[], string) Squad(TempDir tmp, string output)
    {
        var data = tmp.File("s.json");
        // A pair split by another escape is no pair: the high half is alone, on line 5.
        File.WriteAllText(data, """
            {
              "version": "v2.0",
              "data": [{"title": "t", "paragraphs": [
                {"context": "fine \ud83d\ude00 text",
                 "qas": [{"id": "q\ud83d\n\ude00", "question": "Where?", "answers": []}]}
              ]}]
            }
            """);
        return (["finetune", "--task", "squad", "--data", data, "--eval-data", data, "--model", HfFixture.Dir("question-answering"), "--output", output],
            Expected(data, 5, "field 'data[0].paragraphs[0].qas[0].id'", @"\ud83d"));
    }

    private static (string[], string) Config(TempDir tmp, string output)
    {
        var model = Directory.CreateDirectory(tmp.File("m")).FullName;
        HfFixture.CopyCase("sequence-classification", model);
        var config = Path.Combine(model, "config.json");
        var text = File.ReadAllText(config);
        Assert.StartsWith("{\n", text, StringComparison.Ordinal);
        File.WriteAllText(config, "{\n  \"note\\udfff\": 1," + text[1..]);
        return (["convert", "--model", model, "--output", output], Expected(config, 2, @"key 'note\udfff'", @"\udfff"));
    }

    private static (string[], string) TokenizerJson(TempDir tmp, string output)
    {
        var dir = Directory.CreateDirectory(tmp.File("tok")).FullName;
        BertTokenizer.FromPath(TokenizationFixtures.VocabPath("bert-base-uncased")).Save(dir);
        var json = Path.Combine(dir, "tokenizer.json");
        var line = Replace(json, "\"unk_token\": \"[UNK]\"", "\"unk_token\": \"[UNK]\\udfff\"");
        var input = tmp.File("in.txt");
        File.WriteAllText(input, "hello\n");
        return (["tokenize", "--vocab", json, "--input", input, "--output", output], Expected(json, line, "field 'model.unk_token'", @"\udfff"));
    }

    private static (string[], string) TokenizerConfig(TempDir tmp, string output)
    {
        var texts = tmp.File("fine.jsonl");
        File.WriteAllText(texts, "{\"text\": \"fine\"}\n");
        var model = Directory.CreateDirectory(tmp.File("m")).FullName;
        HfFixture.CopyCase("sequence-classification", model);
        var config = Path.Combine(model, "tokenizer_config.json");
        var line = Replace(config, "\"unk_token\": \"[UNK]\"", "\"unk_token\": \"[UNK]\\udfff\"");
        return (["predict", "--model", model, "--input", texts, "--output", output], Expected(config, line, "field 'unk_token'", @"\udfff"));
    }

    /// <summary>Replaces the one occurrence of <paramref name="old"/> in the file; returns its line (1-based).</summary>
    private static int Replace(string path, string old, string replacement)
    {
        var text = File.ReadAllText(path);
        var at = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(at >= 0 && text.IndexOf(old, at + 1, StringComparison.Ordinal) < 0, $"{path}: expected {old} once");
        File.WriteAllText(path, text[..at] + replacement + text[(at + old.Length)..]);
        return text[..at].Count(c => c == '\n') + 1;
    }
}
