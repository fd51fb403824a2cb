using BertSharp.Server.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BertSharp.Server;

/// <summary>
/// Builds the HTTP server of a model directory or Hub id: micro-batched JSON endpoints for what the model's head supports,
/// <c>/health</c>, <c>/openapi.json</c>, and the web page at <c>/</c>. Requests never name files.
/// </summary>
public static class BertServer
{
    /// <summary>Every inference route, and the model classes that serve it.</summary>
    /// <remarks>
    /// Looked up without case, as ASP.NET routing matches paths: POST /V1/Classify is served, so GET /V1/Classify is a 405 and
    /// POST /v1/FILL-MASK on a classifier the "not available for this model" 404, not "no such path".
    /// </remarks>
    public static readonly IReadOnlyDictionary<string, string> RouteNeeds = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["embed"] = "any BERT model",
        ["embeddings"] = "any BERT model",
        ["attention"] = "any BERT model",
        ["ner"] = "BertForTokenClassification",
        ["qa"] = "BertForQuestionAnswering",
        ["classify"] = "BertForSequenceClassification",
        ["fill-mask"] = "BertForMaskedLM or BertForPreTraining",
    };

    /// <summary>
    /// The path of an endpoint name: TEI's <c>/rerank</c> and <c>/zero-shot</c> (HF's Inference API request) sit outside
    /// <c>/v1</c>, where TEI's clients post the first.
    /// </summary>
    private static string PathOf(string name) => name switch
    {
        "rerank" => RerankEndpoint.Path,
        "zero-shot" => ZeroShotEndpoint.Path,
        _ => "/v1/" + name,
    };

    /// <summary>The methods of the read-only routes: HEAD is answered as GET.</summary>
    internal static readonly string[] GetAndHead = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// Answers a path outside <c>/v1</c> that this model does not serve as the catch-all answers an endpoint the model lacks:
    /// 404 with <paramref name="why"/> (one sentence) and the endpoints it has, 405 to a method other than POST.
    /// </summary>
    private static void MapUnavailable(WebApplication app, string path, List<string> available, Func<string> why) =>
        app.Map(path, (HttpContext context) =>
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                throw new ApiException(405, ErrorHandling.MethodNotAllowed(context.Request));
            }
            throw new ApiException(404, $"{why()} Available: {string.Join(", ", available.Select(PathOf))}.");
        }).ExcludeFromDescription();

    /// <summary>
    /// Loads the model and builds the app; <paramref name="configure"/> can adjust the builder (e.g. a test server). The app
    /// owns the model: stopping the app (<c>StopAsync</c>, as <c>Run</c> does when the host stops, after in-flight requests
    /// and the batchers' queues have finished) or disposing it disposes the model, and a build that fails after loading
    /// disposes it before throwing.
    /// </summary>
    public static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure = null, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var served = ServedModel.Load(options.ModelDirectory, options.Device, options.MaxLength, options.Backend);
        WebApplication? app = null;
        try
        {
            app = CreateApp(options, served, configure, args);
            MapEndpoints(app, served, options);
            return app;
        }
        catch
        {
            // The container disposes the model with the app once it has been built; before that, nothing else holds it.
            (app as IDisposable)?.Dispose();
            served.Dispose();
            throw;
        }
    }

    private static WebApplication CreateApp(ServerOptions options, ServedModel served, Action<WebApplicationBuilder>? configure, string[]? args)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes + 1;
            // The header limit is enforced by the error middleware, which can answer 431 in JSON.
            k.Limits.MaxRequestHeadersTotalSize = ServerOptions.MaxKestrelHeaderBytes;
            k.Limits.MaxRequestLineSize = ServerOptions.MaxKestrelHeaderBytes / 2;
        });
        // Made by a factory, not registered as an instance, so that the container disposes it with the host: after the web
        // server has let in-flight requests finish and the batchers (hosted services, stopped before the container is disposed)
        // have run what was queued.
        builder.Services.AddSingleton(_ => served);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<BatcherRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BatcherRegistry>());
        builder.Services.ConfigureHttpJsonOptions(j => ServerJson.Configure(j.SerializerOptions));
        builder.Services.Configure<RouteHandlerOptions>(r => r.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o =>
        {
            o.AddSchemaTransformer(ApiSchema.Transform);
            o.AddOperationTransformer(ApiErrors.Describe);
        });
        builder.Host.ConfigureHostOptions(h => h.ShutdownTimeout = options.Timeout);
        configure?.Invoke(builder);
        // ASP.NET logs four Information lines to stdout for every request (request starting and finished, endpoint executing
        // and executed), and the host's start-up banner: noise that costs under load. Where the configuration sets no log level
        // (appsettings.json, Logging__LogLevel__* environment variables), the framework speaks only from Warning up; one that does is
        // followed as ASP.NET follows it, so Logging__LogLevel__Default=Information brings the request lines back.
        if (!builder.Configuration.GetSection("Logging:LogLevel").Exists())
        {
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        var app = builder.Build();
        // The container disposes only the singletons it has handed out.
        app.Services.GetRequiredService<ServedModel>();
        // Stopping releases the model too, after the web server and the batchers (hosted services) have finished with it: an
        // app that was stopped and not disposed kept its weights or ONNX Runtime session for as long as its owner kept it.
        app.Lifetime.ApplicationStopped.Register(served.Dispose);
        return app;
    }

    private static void MapEndpoints(WebApplication app, ServedModel served, ServerOptions options)
    {
        app.UseBertErrors(options);
        var batchers = app.Services.GetRequiredService<BatcherRegistry>();
        var available = new List<string> { "embed", "embeddings", "attention" };
        var embedBatcher = EmbedEndpoint.Map(app, served, batchers, options);
        OpenAiEmbeddingsEndpoint.Map(app, served, batchers, options, embedBatcher);
        AttentionEndpoint.Map(app, served, batchers, options);
        if (served.Ner is not null)
        {
            NerEndpoint.Map(app, served, batchers, options);
            available.Add("ner");
        }
        if (served.Classifier is not null)
        {
            ClassifyEndpoint.Map(app, served, batchers, options);
            available.Add("classify");
        }
        if (served.Reranker is not null)
        {
            RerankEndpoint.Map(app, served, batchers, options);
            available.Add("rerank");
        }
        else
        {
            MapUnavailable(app, RerankEndpoint.Path, available, () =>
            {
                var what = served.Classifier switch
                {
                    null => served.Architecture,
                    { Model.Config.NumLabels: not 1 } c => $"{served.Architecture} with {c.Model.Config.NumLabels} labels",
                    _ => $"{served.Architecture} fine-tuned on single texts",
                };
                return $"{RerankEndpoint.Path} is not available for this model ({what}); it needs a cross-encoder, a one-label " +
                    "BertForSequenceClassification of sentence pairs.";
            });
        }
        if (served.ZeroShot is not null)
        {
            ZeroShotEndpoint.Map(app, served, batchers, options);
            available.Add("zero-shot");
        }
        else
        {
            // A classifier's refusal is ZeroShotClassifier's own line (no entailment label, naming the labels it has).
            MapUnavailable(app, ZeroShotEndpoint.Path, available, () => served.ZeroShotRefusal is { } refusal
                ? $"{ZeroShotEndpoint.Path} is not available for this model: {refusal}"
                : $"{ZeroShotEndpoint.Path} is not available for this model ({served.Architecture}); it needs an NLI model, a BertForSequenceClassification " +
                  "of sentence pairs whose config.json id2label names an entailment label.");
        }
        if (served.FillMask is not null)
        {
            FillMaskEndpoint.Map(app, served, batchers, options);
            available.Add("fill-mask");
        }
        if (served.Qa is not null)
        {
            QaEndpoint.Map(app, served, batchers, options);
            available.Add("qa");
        }
        // Every method, not only POST: a POST-only catch-all made routing answer 405 to GET /v1/nope, a path that does not
        // exist. The mapped endpoints take precedence over it for POST; other methods on them land here.
        app.Map("/v1/{name}", (string name, HttpContext context) =>
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                throw RouteNeeds.ContainsKey(name)
                    ? new ApiException(405, ErrorHandling.MethodNotAllowed(context.Request))
                    : new ApiException(404, ErrorHandling.NoSuchPath(context.Request));
            }
            var message = RouteNeeds.TryGetValue(name, out var needs)
                ? $"/v1/{name} is not available for this model ({served.Architecture}); it needs {needs}. Available: {string.Join(", ", available.Select(PathOf))}."
                : $"no endpoint /v1/{name}. Available: {string.Join(", ", available.Select(PathOf))}.";
            throw new ApiException(404, message);
        }).ExcludeFromDescription();
        var shownModel = PublicModelName.Of(served.Name);
        Func<HealthResponse> health = () => new HealthResponse("ok", shownModel, served.Architecture, [.. available.Select(PathOf)], served.MaxLength,
            options.MaxBatch, batchers.Stats, served.PairInput);
        app.MapGet("/health", health).WithSummary("Liveness, the loaded model, its endpoints and batching counters.").ProducesHealthErrors();
        // HEAD (a monitor's probe) gets the GET answer's status and headers; Kestrel drops the body. A separate endpoint, so the
        // OpenAPI document does not list a HEAD operation.
        app.MapMethods("/health", [HttpMethods.Head], health).ExcludeFromDescription();
        app.MapOpenApi("/openapi.json").WithMetadata(new HttpMethodMetadata(GetAndHead));
        WebPage.Map(app);
    }
}
