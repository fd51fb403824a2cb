using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace BertSharp.Server;

/// <summary>
/// The outermost middleware: checks the Host header and the body's content type (<see cref="RequestGuards"/>), caps and
/// buffers request bodies (413 beyond the limit, whether or not Content-Length is sent), adds the security headers, and
/// turns every failure — thrown, or an empty 4xx/5xx such as an unknown path (404) or a wrong method (405) — into a JSON
/// <see cref="ErrorResponse"/> with a status that says whose fault it was.
/// </summary>
internal static class ErrorHandling
{
    public static void UseBertErrors(this WebApplication app, ServerOptions options)
    {
        var log = app.Logger;
        app.Use(async (context, next) =>
        {
            RequestGuards.AddSecurityHeaders(context.Response);
            try
            {
                RequestGuards.CheckHost(context.Request, options.AllowedHosts);
                if (IsApiPath(context.Request.Path))
                {
                    RequestGuards.CheckJsonBody(context.Request);
                }
                CheckHeaderSize(context.Request, options.MaxHeaderBytes);
                await BufferBody(context, options.MaxBodyBytes).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
                if (IsEmptyError(context.Response))
                {
                    await Write(context, context.Response.StatusCode, DescribeStatus(context)).ConfigureAwait(false);
                }
            }
            catch (ApiException e)
            {
                await Write(context, e.Status, e.Message, e.Param).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e)
            {
                // Model binding: invalid JSON, wrong types, unknown fields, wrong content type.
                var status = e.StatusCode;
                var message = status switch
                {
                    413 => $"request body too large; the limit is {options.MaxBodyBytes} bytes.",
                    415 => "expected a JSON body with Content-Type: application/json.",
                    _ => JsonBodyErrors.Describe(e, context),
                };
                await Write(context, status, message, JsonBodyErrors.Param(e)).ConfigureAwait(false);
            }
            catch (Inference.NonFiniteOutputException e)
            {
                // The request was fine; the model is broken. Say so instead of "internal error".
                log.LogError("request {Path}: {Message}", context.Request.Path, e.Message);
                await Write(context, 500, e.Message).ConfigureAwait(false);
            }
            catch (BertSharpException e)
            {
                await Write(context, 422, e.Message).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away: nothing to answer.
            }
#pragma warning disable CA1031 // last line of defence: a failed request must not take the server down
            catch (Exception e)
#pragma warning restore CA1031
            {
                log.LogError(e, "request {Path} failed", context.Request.Path);
                await Write(context, 500, $"internal error ({e.GetType().Name}).").ConfigureAwait(false);
            }
        });
    }

    /// <summary>
    /// The API routes, which take POST with a JSON body: those of <c>/v1</c> and the two outside it. The content-type check
    /// covered only <c>/v1</c>, so <c>curl -d</c> to <c>/rerank</c> got the framework's bare "HTTP 415 for POST /rerank.".
    /// </summary>
    private static bool IsApiPath(PathString path) =>
        path.StartsWithSegments("/v1") || path.Equals(Endpoints.RerankEndpoint.Path, StringComparison.OrdinalIgnoreCase)
        || path.Equals(Endpoints.ZeroShotEndpoint.Path, StringComparison.OrdinalIgnoreCase);

    /// <summary>An error status whose endpoint (or the framework: no route, wrong method) wrote no body.</summary>
    private static bool IsEmptyError(HttpResponse response) =>
        response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null or 0 && response.ContentType is null;

    private static string DescribeStatus(HttpContext context)
    {
        var r = context.Request;
        return context.Response.StatusCode switch
        {
            404 => NoSuchPath(r),
            405 => MethodNotAllowed(r),
            _ => $"HTTP {context.Response.StatusCode} for {r.Method} {r.Path}.",
        };
    }

    public static string NoSuchPath(HttpRequest r) =>
        $"no such path: {r.Method} {r.Path}; see /openapi.json for the endpoints (the web page is at /).";

    public static string MethodNotAllowed(HttpRequest r) =>
        $"method {r.Method} is not allowed on {r.Path}; the API endpoints take POST with a JSON body, /health and /openapi.json take GET (or HEAD).";

    /// <summary>
    /// Kestrel's own 431 has no body, so its limit is raised (see <see cref="BertServer"/>) and the real one enforced here,
    /// where the answer can be JSON.
    /// </summary>
    private static void CheckHeaderSize(HttpRequest request, int limit)
    {
        long total = 0;
        foreach (var (name, values) in request.Headers)
        {
            total += name.Length + 4;
            foreach (var v in values)
            {
                total += v?.Length ?? 0;
            }
        }
        if (total > limit)
        {
            throw new ApiException(431, $"request headers take {total} bytes; the limit is {limit}.");
        }
    }

    private static async Task BufferBody(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            throw new ApiException(413, $"request body of {request.ContentLength} bytes is too large; the limit is {limit} bytes.");
        }
        if (!HttpMethods.IsPost(request.Method) && !HttpMethods.IsPut(request.Method))
        {
            return;
        }
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new ApiException(413, $"request body is too large; the limit is {limit} bytes.");
            }
            buffer.Write(chunk, 0, read);
        }
        buffer.Position = 0;
        request.Body = buffer;
        context.Response.RegisterForDispose(buffer);
    }

    private static async Task Write(HttpContext context, int status, string message, string? param = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.Clear();
        RequestGuards.AddSecurityHeaders(context.Response);
        context.Response.StatusCode = status;
        if (status is 429 or 503)
        {
            context.Response.Headers.RetryAfter = "1";
        }
        if (status == 405)
        {
            // RFC 9110 requires it on a 405; the API routes (those of /v1 and the two outside it) take POST, everything else
            // here GET and HEAD.
            context.Response.Headers.Allow = IsApiPath(context.Request.Path) ? "POST" : "GET, HEAD";
        }
        if (context.Request.Path.Equals(Endpoints.OpenAiEmbeddingsEndpoint.Route, StringComparison.OrdinalIgnoreCase))
        {
            // OpenAI's clients read this shape into their exception (message, type, param); the other one they would show raw.
            var error = new OpenAiError(message, status < 500 ? "invalid_request_error" : "server_error", param, Code: null);
            await context.Response.WriteAsJsonAsync(new OpenAiErrorResponse(error), ServerJson.Options).ConfigureAwait(false);
            return;
        }
        await context.Response.WriteAsJsonAsync(new ErrorResponse(message, status), ServerJson.Options).ConfigureAwait(false);
    }
}
