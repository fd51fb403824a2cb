using Microsoft.AspNetCore.Http;

namespace BertSharp.Server;

/// <summary>
/// Checks every request passes before it reaches an endpoint, and the headers every response carries: a <c>Host</c>
/// allow-list (a web page on another origin cannot reach the API through DNS rebinding), a JSON content type for API
/// bodies (415 otherwise), and security headers that keep the page from being framed, sniffed or fed foreign scripts.
/// </summary>
internal static class RequestGuards
{
    /// <summary>Only the page's own scripts, styles and API; no framing, no plugins, no foreign forms.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void AddSecurityHeaders(HttpResponse response)
    {
        var h = response.Headers;
        h.ContentSecurityPolicy = ContentSecurityPolicy;
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h["Cross-Origin-Opener-Policy"] = "same-origin";
        h["Cross-Origin-Resource-Policy"] = "same-origin";
    }

    /// <summary>Throws a 400 <see cref="ApiException"/> unless the request's Host is on <paramref name="allowed"/>.</summary>
    public static void CheckHost(HttpRequest request, IReadOnlyCollection<string> allowed)
    {
        if (allowed.Contains("*"))
        {
            return;
        }
        var host = request.Host.HasValue ? request.Host.Host : "";
        if (!allowed.Any(a => string.Equals(a, host, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ApiException(400,
                $"Host '{host}' is not allowed (allowed: {string.Join(", ", allowed)}); " +
                "to serve other names, start the server with them allowed (bert serve --allowed-hosts NAME[,NAME...], or ServerOptions.AllowedHosts; * for any).");
        }
    }

    /// <summary>Throws a 415 <see cref="ApiException"/> when an API body is not declared as JSON.</summary>
    public static void CheckJsonBody(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method) && !HttpMethods.IsPut(request.Method) && !HttpMethods.IsPatch(request.Method))
        {
            return;
        }
        if (request.HasJsonContentType())
        {
            return;
        }
        var type = string.IsNullOrEmpty(request.ContentType) ? "none" : $"'{request.ContentType}'";
        throw new ApiException(415,
            $"expected a JSON body with Content-Type: application/json; the request's Content-Type is {type} " +
            "(with curl, add -H 'Content-Type: application/json').");
    }
}
