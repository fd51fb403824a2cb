using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server;

/// <summary>The static page at <c>/</c> and its assets, served from resources embedded in this assembly.</summary>
internal static class WebPage
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
    };

    public static void Map(WebApplication app)
    {
        var assembly = typeof(WebPage).Assembly;
        // Only names present in the assembly can be served: a request cannot reach the file system.
        var assets = assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal))
            .ToDictionary(n => n["wwwroot/".Length..], n => Read(assembly, n), StringComparer.Ordinal);
        app.MapMethods("/", BertServer.GetAndHead, () => Asset(assets, "index.html")).ExcludeFromDescription();
        app.MapMethods("/static/{name}", BertServer.GetAndHead, (string name) => Asset(assets, name)).ExcludeFromDescription();
    }

    private static IResult Asset(Dictionary<string, byte[]> assets, string name) =>
        assets.TryGetValue(name, out var bytes) && ContentTypes.TryGetValue(Path.GetExtension(name), out var type)
            ? Results.Bytes(bytes, type)
            : Results.Json(new ErrorResponse($"no asset '{name}'.", 404), ServerJson.Options, statusCode: 404);

    private static byte[] Read(Assembly assembly, string name)
    {
        using var s = assembly.GetManifestResourceStream(name)!;
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
