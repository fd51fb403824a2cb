namespace BertSharp.Tests.Server;

/// <summary>A body that cannot be bound gets a 400 naming the field and what it should hold, never .NET type names.</summary>
public sealed class ServerJsonErrorTests : IAsyncLifetime
{
    private ServerHost _host = null!;

    public async Task InitializeAsync() => _host = await ServerHost.Start("sequence-classification");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("""{"text":5}""", "text: expected a string.")]
    [InlineData("""{"text":"\ud800"}""", "text: invalid JSON string (lone surrogate \\ud800).")]
    [InlineData("""{"texts":"abc"}""", "texts: expected an array of strings.")]
    [InlineData("""{"texts":["a", 7]}""", "texts[1]: expected a string.")]
    [InlineData("""{"texts":["a", "\udc00b"]}""", "texts[1]: invalid JSON string (lone surrogate \\udc00).")]
    [InlineData("", "the body is empty; expected a JSON object.")]
    [InlineData("null", "expected a JSON object as the body, got null.")]
    [InlineData("[1]", "expected a JSON object as the body.")]
    [InlineData("""{"text":"a","labels":3}""", "unknown field 'labels'; expected text, text_pair, texts.")]
    [InlineData("""{"text":""", "invalid JSON at line 1, byte 9: ")]
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

    [Fact]
    public async Task Number_fields_say_they_expect_an_integer()
    {
        await using var host = await ServerHost.Start("masked-lm");
        var (status, json) = await host.Post("/v1/fill-mask", """{"text":"a [MASK]","top_k":"5"}""");
        Assert.Equal(400, status);
        Assert.Equal("top_k: expected an integer (at most 2147483647).", (string)json!["error"]!);
    }
}
