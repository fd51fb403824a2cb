namespace BertSharp.Server;

/// <summary>A request that cannot be served; becomes a JSON error response with <see cref="Status"/>.</summary>
public sealed class ApiException : Exception
{
    public ApiException(int status, string message) : base(message) => Status = status;

    public ApiException()
    {
    }

    public ApiException(string message) : base(message)
    {
    }

    public ApiException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The request field at fault, for the OpenAI-compatible error shape's <c>param</c>; null when none is.</summary>
    internal string? Param { get; init; }

    /// <summary>HTTP status code.</summary>
    public int Status { get; } = 400;
}
