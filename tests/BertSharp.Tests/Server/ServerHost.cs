using System.Net.Http.Json;
using System.Text.Json.Nodes;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace BertSharp.Tests.Server;

/// <summary>
/// An in-process server (TestServer) over a tiny model: the fixture checkpoint loaded and saved again into a temp directory
/// with its tokenizer files, as a user's model directory would be.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly TempDir? _dir;

    private ServerHost(TempDir? dir, WebApplication app)
    {
        _dir = dir;
        App = app;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public string ModelDirectory => _dir!.Path;

    /// <param name="fixtureCase">The HF fixture to serve.</param>
    /// <param name="adjust">Changes the server options.</param>
    /// <param name="prepare">Adds files to the model directory before the server loads it (e.g. training_args.json).</param>
    /// <param name="alter">Changes the model's weights before it is saved (e.g. NaN in a head).</param>
    /// <param name="configure">Adjusts the builder after the console logger is removed (e.g. a logger that records).</param>
    public static async Task<ServerHost> Start(string fixtureCase, Func<ServerOptions, ServerOptions>? adjust = null, Action<string>? prepare = null,
        Action<BertPreTrainedModel>? alter = null, Action<WebApplicationBuilder>? configure = null)
    {
        var dir = TestPaths.TempDir();
        using (var model = BertPretrained.Load(null, HfFixture.Dir(fixtureCase), out _))
        {
            alter?.Invoke(model);
            BertPretrained.Save(model, dir.Path, new SaveOptions(TokenizerFrom: HfFixture.Dir(fixtureCase)));
        }
        prepare?.Invoke(dir.Path);
        var options = new ServerOptions { ModelDirectory = dir.Path, Device = "cpu" };
        return new ServerHost(dir, await Build(adjust?.Invoke(options) ?? options, configure));
    }

    /// <summary>
    /// A server of <paramref name="model"/> as given (a directory or Hub id), which the host neither copies nor deletes;
    /// <paramref name="adjust"/> changes the server options.
    /// </summary>
    public static async Task<ServerHost> StartOn(string model, Func<ServerOptions, ServerOptions>? adjust = null)
    {
        var options = new ServerOptions { ModelDirectory = model, Device = "cpu" };
        return new(null, await Build(adjust?.Invoke(options) ?? options, null));
    }

    private static async Task<WebApplication> Build(ServerOptions options, Action<WebApplicationBuilder>? configure)
    {
        // No console logger: test classes run in parallel, and a log line would land in another test's captured stdout.
        var app = BertServer.Build(options, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
            configure?.Invoke(b);
        });
        await app.StartAsync();
        return app;
    }

    public async Task<(int Status, JsonNode? Body)> Post(string path, string json) => await Post(path, System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>Posts <paramref name="body"/> as sent, labelled UTF-8 JSON whatever its bytes are.</summary>
    public async Task<(int Status, JsonNode? Body)> Post(string path, byte[] body)
    {
        var (status, text) = await PostText(path, body);
        return (status, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>As <see cref="Post(string, byte[])"/>, with the response body as written (its escapes unparsed).</summary>
    public async Task<(int Status, string Body)> PostText(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        using var response = await Client.PostAsync(new Uri(path, UriKind.Relative), content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<(int Status, JsonNode? Body)> Post(string path, object body) =>
        await Post(path, System.Text.Json.JsonSerializer.Serialize(body));

    public async Task<JsonNode> Health() => (await Client.GetFromJsonAsync<JsonNode>(new Uri("/health", UriKind.Relative)))!;

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Client.Dispose();
        _dir?.Dispose();
    }
}
