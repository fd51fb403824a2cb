namespace BertSharp.Checkpoints;

/// <summary>
/// Where and how models are fetched from the HuggingFace Hub. Unset properties fall back to the environment variables
/// <c>huggingface_hub</c> reads: <c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c> / <c>HF_HOME</c>, <c>HF_HUB_OFFLINE</c>, <c>HF_TOKEN</c>
/// (or the token file that <c>huggingface-cli login</c> writes).
/// </summary>
public sealed record HubOptions
{
    /// <summary>Hub base URL (default <c>$HF_ENDPOINT</c> or <c>https://huggingface.co</c>).</summary>
    public string? Endpoint { get; init; }

    /// <summary>Cache root holding <c>models--org--name</c> folders (default <c>$HF_HUB_CACHE</c>, <c>$HUGGINGFACE_HUB_CACHE</c>,
    /// <c>$HF_HOME/hub</c>, <c>$XDG_CACHE_HOME/huggingface/hub</c>, <c>~/.cache/huggingface/hub</c>).</summary>
    public string? CacheDir { get; init; }

    /// <summary>Never touch the network; only the cache is used (default: <c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool? Offline { get; init; }

    /// <summary>Access token for gated/private repos (default: see <see cref="DefaultToken"/>).</summary>
    public string? Token { get; init; }

    /// <summary>Branch, tag or commit (default <c>main</c>).</summary>
    public string Revision { get; init; } = "main";

    /// <summary>
    /// Receives one line per file (name, size, downloaded or cached); null for silence. The repository's file names are
    /// written with their control and bidirectional characters as visible escapes (<c>\x1b</c>, <c>\u202e</c>).
    /// </summary>
    public TextWriter? Log { get; init; }

    /// <summary>Receives download progress (at most every 1 MB per file, and at the end); null for none.</summary>
    public IProgress<HubDownloadProgress>? Progress { get; init; }

    /// <summary>How long a request may wait for response headers or for the next bytes of a body.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many times a dropped download is resumed (with an HTTP Range request) before giving up.</summary>
    public int MaxResumes { get; init; } = 5;

    /// <summary>How long to wait for another thread or process that is downloading the same file.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    internal string ResolvedEndpoint => (Endpoint ?? Env("HF_ENDPOINT") ?? "https://huggingface.co").TrimEnd('/');

    /// <summary>
    /// <see cref="ResolvedEndpoint"/>, refused unless it is an http(s) URL: request URLs are built from it, and anything else
    /// failed there as a .NET URI error (or "the 'ftp' scheme is not supported") that named neither the setting nor the value.
    /// </summary>
    internal string CheckedEndpoint()
    {
        var endpoint = ResolvedEndpoint;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            var setting = Endpoint is null ? "HF_ENDPOINT" : BertSharpException.Field("endpoint");
            throw new BertSharpException($"{setting} '{endpoint}': expected an http(s) URL such as https://huggingface.co.");
        }
        return endpoint;
    }

    internal string ResolvedCacheDir => CacheDir ?? DefaultCacheDir(Env);

    internal bool ResolvedOffline => Offline ?? IsTrue(Env("HF_HUB_OFFLINE"));

    internal string? ResolvedToken => Token ?? DefaultToken(Env, ReadTokenFile);

    /// <summary>The cache root <c>huggingface_hub</c> would use for these environment variables.</summary>
    public static string DefaultCacheDir(Func<string, string?> getenv)
    {
        ArgumentNullException.ThrowIfNull(getenv);
        if (getenv("HF_HUB_CACHE") is { Length: > 0 } hub)
        {
            return hub;
        }
        if (getenv("HUGGINGFACE_HUB_CACHE") is { Length: > 0 } legacy)
        {
            return legacy;
        }
        return Path.Combine(HuggingFaceHome(getenv), "hub");
    }

    /// <summary>
    /// The token <c>huggingface_hub</c> would send: <c>$HF_TOKEN</c>, then the legacy <c>$HUGGING_FACE_HUB_TOKEN</c>, then the
    /// file <c>huggingface-cli login</c> writes (<c>$HF_TOKEN_PATH</c>, else <c>$HF_HOME/token</c>, else
    /// <c>$XDG_CACHE_HOME/huggingface/token</c>, else <c>~/.cache/huggingface/token</c>); surrounding whitespace is dropped and an empty token counts as none.
    /// </summary>
    /// <param name="getenv">Environment lookup (null or empty = unset).</param>
    /// <param name="readFile">Returns a file's text, or null when it does not exist or cannot be read.</param>
    public static string? DefaultToken(Func<string, string?> getenv, Func<string, string?> readFile)
    {
        ArgumentNullException.ThrowIfNull(getenv);
        ArgumentNullException.ThrowIfNull(readFile);
        static string? Clean(string? t) => string.IsNullOrWhiteSpace(t) ? null : t.Trim();
        if (Clean(getenv("HF_TOKEN")) is { } token)
        {
            return token;
        }
        if (Clean(getenv("HUGGING_FACE_HUB_TOKEN")) is { } legacy)
        {
            return legacy;
        }
        var path = getenv("HF_TOKEN_PATH") is { Length: > 0 } explicitPath ? explicitPath : Path.Combine(HuggingFaceHome(getenv), "token");
        return Clean(readFile(path));
    }

    /// <summary>huggingface_hub's truthy values: 1, ON, YES, TRUE (any case).</summary>
    public static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    /// <summary><c>huggingface_hub</c>'s HF_HOME: <c>$HF_HOME</c>, else <c>$XDG_CACHE_HOME/huggingface</c>, else <c>~/.cache/huggingface</c>.</summary>
    private static string HuggingFaceHome(Func<string, string?> getenv)
    {
        if (getenv("HF_HOME") is { Length: > 0 } home)
        {
            return home;
        }
        var xdg = getenv("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(xdg, "huggingface");
    }

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
