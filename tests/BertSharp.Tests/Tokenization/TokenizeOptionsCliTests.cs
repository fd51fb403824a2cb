using System.Text.Json;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// The HF options issue 21 asked for, through <c>bert tokenize</c>: <c>--truncation-side left</c>, <c>--pad-length</c>
/// (fixed padding to a length other than <c>--max-length</c>) and <c>--pad-to-multiple-of</c>, checked against the HF
/// golden cases of hf-options.json (tools/hf_options_fixture.js).
/// </summary>
public class TokenizeOptionsCliTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizationFixtures.Dir, "hf-options.json"))).RootElement.GetProperty("cases");

    private static JsonElement Find(Func<JsonElement, bool> match) => Cases.EnumerateArray().First(c => !c.TryGetProperty("error", out _) && match(c));

    private static string? Str(JsonElement c, string name) => c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement c, string name) => c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    public static TheoryData<string> Kinds => ["truncation-side-left", "pad-length", "pad-to-multiple-of-longest", "pad-to-multiple-of-max-length"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Cli_options_give_hf_encodings(string kind)
    {
        var c = kind switch
        {
            "truncation-side-left" => Find(c => Str(c, "truncation_side") == "left" && Str(c, "text_pair") is null && Int(c, "stride") > 0 && Str(c, "padding") is null),
            "pad-length" => Find(c => Int(c, "pad_length") is not null && Int(c, "max_length") is not null && Str(c, "side") == "right"),
            "pad-to-multiple-of-longest" => Find(c => Int(c, "pad_to_multiple_of") == 7 && Str(c, "side") == "right"),
            _ => Find(c => Int(c, "pad_to_multiple_of") == 5 && Str(c, "side") == "right"),
        };
        using var tmp = TestPaths.TempDir();
        var input = tmp.File("in.jsonl");
        var line = new Dictionary<string, string?> { ["text"] = Str(c, "text") };
        if (Str(c, "text_pair") is { } pair)
        {
            line["text_pair"] = pair;
        }
        File.WriteAllText(input, JsonSerializer.Serialize(line) + "\n");
        var args = new List<string> { "tokenize", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", input };
        if (Int(c, "max_length") is { } max)
        {
            args.AddRange(["--max-length", $"{max}", "--stride", $"{Int(c, "stride") ?? 0}"]);
            args.AddRange(["--truncation", Str(c, "strategy") switch { "OnlyFirst" => "only_first", "OnlySecond" => "only_second", null => "none", _ => "longest_first" }]);
        }
        if (Str(c, "truncation_side") is { } ts)
        {
            args.AddRange(["--truncation-side", ts]);
        }
        if (Str(c, "padding") is { } padding)
        {
            args.AddRange(["--padding", padding]);
        }
        if (Int(c, "pad_length") is { } padLength)
        {
            args.AddRange(["--pad-length", $"{padLength}"]);
        }
        if (Int(c, "pad_to_multiple_of") is { } multiple)
        {
            args.AddRange(["--pad-to-multiple-of", $"{multiple}"]);
        }
        // The CLI pads on the right (the cases above are the right-padded ones).
        var r = CliRunner.Run([.. args]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var actual = JsonDocument.Parse(r.StdOut.Split('\n')[0]).RootElement;
        var expected = c.GetProperty("expected");
        Assert.Equal(expected.GetProperty("ids").GetRawText(), actual.GetProperty("ids").GetRawText());
        Assert.Equal(expected.GetProperty("attention_mask").GetRawText(), actual.GetProperty("attention_mask").GetRawText());
        Assert.Equal(expected.GetProperty("offsets").GetRawText(), actual.GetProperty("offsets").GetRawText());
    }

    [Theory]
    [InlineData("--pad-length", "12", "--pad-length 12: expected a positive length, with --padding max_length")]
    [InlineData("--pad-to-multiple-of", "0", "--pad-to-multiple-of 0: expected a positive number")]
    [InlineData("--truncation-side", "middle", "middle")]
    public void Option_misuse_is_refused(string option, string value, string message)
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "hello\n");
        var r = CliRunner.Run("tokenize", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"), "--input", tmp.File("in.txt"), option, value);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.StdErr);
    }
}
