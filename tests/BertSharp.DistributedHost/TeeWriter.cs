using System.Text;

namespace BertSharp.DistributedHost;

/// <summary>
/// Writes everything to both writers, <paramref name="first"/> first, each call as one call on each side: TextWriter's own
/// span, char[] and WriteLine overloads come down to one write per character, and a line reaching the rank's stderr in
/// pieces could be cut by another process's output on the shared stream.
/// </summary>
public sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
{
    /// <inheritdoc/>
    public override Encoding Encoding => first.Encoding;

    /// <inheritdoc/>
    public override void Write(char value)
    {
        first.Write(value);
        second.Write(value);
    }

    /// <inheritdoc/>
    public override void Write(string? value)
    {
        first.Write(value);
        second.Write(value);
    }

    /// <inheritdoc/>
    public override void Write(char[] buffer, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Write(buffer.AsSpan(index, count));
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<char> buffer)
    {
        first.Write(buffer);
        second.Write(buffer);
    }

    // The line and this writer's NewLine together, as TextWriter writes them (each side's own NewLine could differ).
    /// <inheritdoc/>
    public override void WriteLine(string? value) => Write(value + NewLine);

    /// <inheritdoc/>
    public override void WriteLine(ReadOnlySpan<char> buffer) => Write(string.Concat(buffer, NewLine));

    /// <inheritdoc/>
    public override void Flush()
    {
        first.Flush();
        second.Flush();
    }
}
