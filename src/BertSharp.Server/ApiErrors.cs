using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace BertSharp.Server;

/// <summary>
/// The error statuses each operation can answer (all with an <see cref="ErrorResponse"/> body, see <see cref="ErrorHandling"/>),
/// declared in the OpenAPI document so clients can expect them. 404 and 405 are not among them: they answer paths and methods
/// that are no operation of the document (an unknown path, an endpoint the model lacks, GET on a POST route).
/// </summary>
internal static class ApiErrors
{
    /// <summary>
    /// The JSON endpoints: 400 (body or Host), 413 (body size), 415 (content type), 422 (too long, too many inputs), 429 (queue
    /// full), 431 (headers), 500 (NaN outputs, internal error), 503 (timed out, shutting down).
    /// </summary>
    public static readonly int[] Endpoint = [400, 413, 415, 422, 429, 431, 500, 503];

    /// <summary><c>GET /health</c> runs no model and has no body to check: only the guards every request passes.</summary>
    public static readonly int[] Health = [400, 413, 431];

    public static RouteHandlerBuilder ProducesApiErrors(this RouteHandlerBuilder builder) => Produces(builder, Endpoint);

    public static RouteHandlerBuilder ProducesHealthErrors(this RouteHandlerBuilder builder) => Produces(builder, Health);

    /// <summary>The JSON endpoints' statuses, with OpenAI's error body (<c>/v1/embeddings</c>).</summary>
    public static RouteHandlerBuilder ProducesOpenAiErrors(this RouteHandlerBuilder builder) => Produces<OpenAiErrorResponse>(builder, Endpoint);

    private static RouteHandlerBuilder Produces(RouteHandlerBuilder builder, int[] statuses) => Produces<ErrorResponse>(builder, statuses);

    private static RouteHandlerBuilder Produces<TError>(RouteHandlerBuilder builder, int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<TError>(status);
        }
        return builder;
    }

    /// <summary>Says what each declared error means here (the generator writes only the reason phrase), with the limits in force.</summary>
    public static Task Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Responses is null)
        {
            return Task.CompletedTask;
        }
        var options = context.ApplicationServices.GetRequiredService<ServerOptions>();
        foreach (var (code, response) in operation.Responses)
        {
            if (response is not OpenApiResponse r || Description(code, options) is not { } description)
            {
                continue;
            }
            r.Description = description;
            if (code is "429" or "503")
            {
                // ErrorHandling sends it with both: the condition is expected to pass.
                r.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.Ordinal);
                r.Headers["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before retrying.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                };
            }
        }
        return Task.CompletedTask;
    }

    private static string? Description(string code, ServerOptions options) => code switch
    {
        "400" => "Invalid JSON, a wrong type, an unknown, missing or empty field, a value out of range, or a Host header that is not allowed.",
        "413" => $"Request body over {options.MaxBodyBytes} bytes.",
        "415" => "The body is not sent as Content-Type: application/json.",
        "422" => "Valid JSON the model cannot take: a text over the token limit (/health max_length), more inputs than allowed, " +
                 "or an input this endpoint cannot use (the message says which).",
        "429" => "The endpoint's queue is full; retry later.",
        "431" => $"Request headers over {options.MaxHeaderBytes} bytes.",
        "500" => "The model produced NaN or infinite outputs (its weights hold NaN/Inf), or an internal error.",
        "503" => "Timed out waiting for the model (overloaded), or the server is shutting down; retry later.",
        _ => null,
    };
}
