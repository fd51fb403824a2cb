namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Records each call that writes text as one entry, whatever its overload, so a test can tell a line written at once from
/// one written a character at a time (TextWriter's own span and char[] overloads call <see cref="Write(char)"/> per character).
/// </summary>
internal sealed class RecordingWriter : TextWriter
{
    public List<string> Writes { get; } = [];

    public string Text => string.Concat(Writes);

    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    public override void Write(char value) => Writes.Add(value.ToString());

    public override void Write(string? value) => Writes.Add(value ?? "");

    public override void Write(char[] buffer, int index, int count) => Writes.Add(new string(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer) => Writes.Add(buffer.ToString());
}
