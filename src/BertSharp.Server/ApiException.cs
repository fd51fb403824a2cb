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

    /// <summary>HTTP status code.</summary>
    public int Status { get; } = 400;
}
