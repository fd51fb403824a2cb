using System.Text;

namespace BertSharp;

/// <summary>
/// An error caused by the user's input (a file, an option, a checkpoint) rather than by a bug. Its message is one line that
/// names the file or field and says what was expected; the CLI prints it and exits with code 2.
/// </summary>
/// <remarks>
/// The library speaks in fields, not in command-line flags: a message refers to an option through
/// <see cref="Field(string)"/>, which <see cref="Exception.Message"/> shows as the option's snake_case name (as in
/// <c>training_args.json</c>, e.g. <c>max_length</c>). A front end that calls the option something else (the CLI's
/// <c>--max-length</c>) shows the message through <see cref="Render"/> with its own names.
/// </remarks>
public class BertSharpException : Exception
{
    private const char Open = '\u0001';
    private const char Close = '\u0002';

    /// <summary>
    /// Creates the error from its one-line <paramref name="message"/>, which may hold <see cref="Field(string)"/>
    /// references.
    /// </summary>
    public BertSharpException(string message) : base(message) { }

    /// <summary>
    /// Creates the error from its one-line <paramref name="message"/> (which may hold <see cref="Field(string)"/>
    /// references) and the <paramref name="inner"/> exception that caused it (an <see cref="IOException"/>, a JSON
    /// error), kept for diagnostics.
    /// </summary>
    public BertSharpException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The message, with every field named by its snake_case name.</summary>
    public override string Message => Render(f => f);

    /// <summary>The fields the message refers to, in order.</summary>
    public IReadOnlyList<string> Fields
    {
        get
        {
            var fields = new List<string>();
            var text = base.Message;
            for (var i = text.IndexOf(Open, StringComparison.Ordinal); i >= 0; i = text.IndexOf(Open, i + 1))
            {
                var end = text.IndexOf(Close, i + 1);
                if (end < 0)
                {
                    break;
                }
                fields.Add(text[(i + 1)..end]);
            }
            return fields;
        }
    }

    /// <summary>A reference to the option <paramref name="name"/> (snake_case) inside a message.</summary>
    public static string Field(string name) => Open + name + Close;

    /// <summary>The message with each field reference replaced by <paramref name="name"/>(field).</summary>
    public string Render(Func<string, string> name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = base.Message;
        if (text.IndexOf(Open, StringComparison.Ordinal) < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf(Open, i);
            var close = open < 0 ? -1 : text.IndexOf(Close, open + 1);
            if (close < 0)
            {
                sb.Append(text, i, text.Length - i);
                break;
            }
            sb.Append(text, i, open - i).Append(name(text[(open + 1)..close]));
            i = close + 1;
        }
        return sb.ToString();
    }
}
