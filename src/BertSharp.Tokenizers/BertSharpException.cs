namespace BertSharp;

/// <summary>
/// An error caused by the user's input (a file, a flag, a checkpoint) rather than by a bug. Its message is one line that
/// names the file or field and says what was expected; the CLI prints it as is and exits non-zero.
/// </summary>
public class BertSharpException : Exception
{
    public BertSharpException(string message) : base(message) { }

    public BertSharpException(string message, Exception inner) : base(message, inner) { }
}
