using System.Text.Json.Nodes;

namespace BertSharp.Tests.Server;

/// <summary>Unknown paths are 404 whatever the method; a known endpoint with the wrong method is 405; HEAD works where GET does.</summary>
public sealed class ServerRoutingTests : IAsyncLifetime
{
    private ServerHost _host = null!;

    public async Task InitializeAsync() => _host = await ServerHost.Start("sequence-classification");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(int Status, string? Error, HttpResponseMessage Response)> Send(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            // A JSON body, so the content-type check (415) does not answer first.
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        }
        var response = await _host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : (string?)JsonNode.Parse(text)!["error"], response);
    }

    [Theory]
    [InlineData("GET", "/v1/nope", 404, "no such path: GET /v1/nope")]
    [InlineData("DELETE", "/v1/nope", 404, "no such path: DELETE /v1/nope")]
    [InlineData("GET", "/nope", 404, "no such path: GET /nope")]
    [InlineData("POST", "/v1/nope", 404, "no endpoint /v1/nope")]
    [InlineData("GET", "/v1/classify", 405, "method GET is not allowed on /v1/classify")]
    [InlineData("PUT", "/v1/classify", 405, "method PUT is not allowed on /v1/classify")]
    // A route this model lacks still exists on the server: the wrong method is 405, as on one it has.
    [InlineData("GET", "/v1/qa", 405, "method GET is not allowed on /v1/qa")]
    [InlineData("DELETE", "/health", 405, "method DELETE is not allowed on /health")]
    // The two API routes outside /v1, which this model lacks too: they take POST, as the /v1 routes do.
    [InlineData("GET", "/zero-shot", 405, "method GET is not allowed on /zero-shot")]
    [InlineData("GET", "/rerank", 405, "method GET is not allowed on /rerank")]
    // Routing ignores case (POST /V1/Classify is answered), so the errors must too: these were 404 "no such path" and "no endpoint".
    [InlineData("GET", "/V1/Classify", 405, "method GET is not allowed on /V1/Classify")]
    [InlineData("POST", "/v1/FILL-MASK", 404, "/v1/FILL-MASK is not available for this model (BertForSequenceClassification)")]
    public async Task Unknown_paths_are_404_and_wrong_methods_405(string method, string path, int expected, string message)
    {
        var (status, error, response) = await Send(method, path);
        Assert.Equal(expected, status);
        Assert.Contains(message, error, StringComparison.Ordinal);
        // A 405 names the methods the path takes (RFC 9110); the error writer used to clear every header.
        var allow = response.Content.Headers.Allow.Count > 0 ? string.Join(", ", response.Content.Headers.Allow) : null;
        var api = path.StartsWith("/v1/", StringComparison.OrdinalIgnoreCase) || path is "/rerank" or "/zero-shot";
        Assert.Equal(expected == 405 ? (api ? "POST" : "GET, HEAD") : null, allow);
    }

    [Theory]
    [InlineData("/health", "application/json")]
    [InlineData("/openapi.json", "application/json")]
    [InlineData("/", "text/html")]
    public async Task Head_is_answered_where_get_is(string path, string mediaType)
    {
        var (status, _, response) = await Send("HEAD", path);
        Assert.Equal(200, status);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        // The OpenAPI document lists GET /health only, not a HEAD operation.
        var doc = JsonNode.Parse(await _host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;
        Assert.Equal(["get"], doc["paths"]!["/health"]!.AsObject().Select(o => o.Key));
    }
}
