using System.Text;
using System.Text.Json.Nodes;

namespace BertSharp.Tests.Server;

/// <summary>
/// A body that cannot be bound gets a 400 naming the field and what it should hold, never .NET type names; the JSON written
/// back shows text as it is, bidirectional controls escaped.
/// </summary>
public sealed class ServerJsonErrorTests : IAsyncLifetime
{
    private const string Label = "é漢😀\u202e";

    private ServerHost _host = null!;

    public async Task InitializeAsync() => _host = await ServerHost.Start("sequence-classification", prepare: dir =>
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = "LABEL_0", ["1"] = Label, ["2"] = "LABEL_2" };
        config["label2id"] = new JsonObject { ["LABEL_0"] = 0, [Label] = 1, ["LABEL_2"] = 2 };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("""{"text":5}""", "text: expected a string.")]
    [InlineData("""{"text":"\ud800"}""", "field 'text' is not valid text: it holds a lone UTF-16 surrogate (\\ud800); expected a string of Unicode characters.")]
    [InlineData("""{"texts":"abc"}""", "texts: expected an array of strings.")]
    [InlineData("""{"texts":["a", 7]}""", "texts[1]: expected a string.")]
    [InlineData("""{"texts":["a", "\udc00b"]}""", "field 'texts[1]' is not valid text: it holds a lone UTF-16 surrogate (\\udc00); expected a string of Unicode characters.")]
    // In a key, shown as the body has it: it cannot be decoded.
    [InlineData("""{"te\ud800xt":"a"}""", "key 'te\\ud800xt' is not valid text: it holds a lone UTF-16 surrogate (\\ud800); expected a string of Unicode characters.")]
    [InlineData("", "the body is empty; expected a JSON object.")]
    [InlineData("null", "expected a JSON object as the body, got null.")]
    [InlineData("[1]", "expected a JSON object as the body.")]
    [InlineData("""{"text":"a","labels":3}""", "unknown field 'labels'; expected text, text_pair, texts.")]
    [InlineData("""{"text":""", "invalid JSON at line 1, byte 9: ")]
    // Last one wins in System.Text.Json by default: the request was answered for "b" alone.
    [InlineData("""{"text":"a","text":"b"}""", "field 'text' is given twice; give each field once.")]
    public async Task Binding_errors_name_the_field_and_the_expected_type(string body, string expected)
    {
        var (status, json) = await _host.Post("/v1/classify", body);
        Assert.Equal(400, status);
        var error = (string)json!["error"]!;
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("BertSharp.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Service", error, StringComparison.Ordinal);
    }

    [Theory]
    // Latin-1 "café": 0xE9 is byte 13 of line 1.
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0x63, 0x61, 0x66, 0xE9, 0x22, 0x7D },
        "the body is not valid UTF-8 JSON: invalid UTF-8 at line 1, byte 13 (0xE9).")]
    // In a field name: {"te\xFFxt":"a"}.
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x65, 0xFF, 0x78, 0x74, 0x22, 0x3A, 0x22, 0x61, 0x22, 0x7D },
        "the body is not valid UTF-8 JSON: invalid UTF-8 at line 1, byte 5 (0xFF).")]
    // An overlong "/" (0xC0 0xAF) on line 2: {"texts":["a",\n"\xC0\xAF"]}.
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x73, 0x22, 0x3A, 0x5B, 0x22, 0x61, 0x22, 0x2C, 0x0A, 0x22, 0xC0, 0xAF, 0x22, 0x5D, 0x7D },
        "the body is not valid UTF-8 JSON: invalid UTF-8 at line 2, byte 2 (0xC0).")]
    // A character cut short at the end of the body, outside any string: {"text":"a"}\xC3.
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0x61, 0x22, 0x7D, 0xC3 },
        "the body is not valid UTF-8 JSON: invalid UTF-8 at line 1, byte 13 (0xC3).")]
    public async Task A_body_that_is_not_utf8_is_400_saying_so(byte[] body, string expected)
    {
        var (status, json) = await _host.Post("/v1/classify", body);
        Assert.Equal(400, status);
        Assert.Equal(expected, (string)json!["error"]!);
    }

    [Fact]
    public async Task Responses_escape_bidirectional_controls_and_keep_other_text_readable()
    {
        // A label of the model's config (in an answer) and a field's name (in an error) are shown by curl as sent: raw,
        // U+202E reversed the rest of the line on a terminal.
        var (status, body) = await _host.PostText("/v1/classify", """{"text":"a fine film"}"""u8.ToArray());
        Assert.Equal(200, status);
        Assert.Contains("\"label\":\"é漢\\uD83D\\uDE00\\u202E\"", body, StringComparison.Ordinal);
        Assert.Contains(Label, JsonNode.Parse(body)!["predictions"]![0]!["labels"]!.AsArray().Select(l => (string)l!["label"]!));
        (status, body) = await _host.PostText("/v1/classify", Encoding.UTF8.GetBytes($"{{\"text\":\"a\",\"{Label}\":1}}"));
        Assert.Equal(400, status);
        Assert.Contains("unknown field 'é漢\\uD83D\\uDE00\\u202E';", body, StringComparison.Ordinal);
        Assert.StartsWith($"unknown field '{Label}';", (string)JsonNode.Parse(body)!["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Number_fields_say_they_expect_an_integer()
    {
        await using var host = await ServerHost.Start("masked-lm");
        var (status, json) = await host.Post("/v1/fill-mask", """{"text":"a [MASK]","top_k":"5"}""");
        Assert.Equal(400, status);
        Assert.Equal("top_k: expected an integer (at most 2147483647).", (string)json!["error"]!);
    }
}
