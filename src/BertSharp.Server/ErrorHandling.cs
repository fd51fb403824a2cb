using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace BertSharp.Server;

/// <summary>
/// The outermost middleware: caps and buffers request bodies (413 beyond the limit, whether or not Content-Length is sent),
/// and turns every failure into a JSON <see cref="ErrorResponse"/> with a status that says whose fault it was.
/// </summary>
internal static class ErrorHandling
{
    public static void UseBertErrors(this WebApplication app, ServerOptions options)
    {
        var log = app.Logger;
        app.Use(async (context, next) =>
        {
            try
            {
                await BufferBody(context, options.MaxBodyBytes).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
            }
            catch (ApiException e)
            {
                await Write(context, e.Status, e.Message).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e)
            {
                // Model binding: invalid JSON, wrong types, unknown fields, wrong content type.
                var detail = e.InnerException?.Message ?? e.Message;
                var status = e.StatusCode;
                var message = status switch
                {
                    413 => $"request body too large; the limit is {options.MaxBodyBytes} bytes.",
                    415 => "expected a JSON body with Content-Type: application/json.",
                    _ => $"invalid request body: {detail}",
                };
                await Write(context, status, message).ConfigureAwait(false);
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

    private static async Task Write(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (status is 429 or 503)
        {
            context.Response.Headers.RetryAfter = "1";
        }
        await context.Response.WriteAsJsonAsync(new ErrorResponse(message, status), ServerJson.Options).ConfigureAwait(false);
    }
}
