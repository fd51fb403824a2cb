using System.CommandLine;
using System.CommandLine.Parsing;

namespace BertSharp.Cli;

/// <summary>Checks of the parsed command line that hold for every command, made once before any command runs.</summary>
internal static class CliInput
{
    /// <summary>The options ("command --option") whose empty value their command refuses with its own, more specific message.</summary>
    private static readonly HashSet<string> OwnEmptyCheck = new(StringComparer.Ordinal)
    {
        "predict --text", "predict --text-pair", "predict --choice", "nsp --text", "nsp --text-pair", "ner --text", "qa --question", "qa --context",
    };

    /// <summary>What an option or argument with a string value expects, for the names where that is not just "a value".</summary>
    private static readonly Dictionary<string, string> Expected = new(StringComparer.Ordinal)
    {
        ["--model"] = "a model directory or Hub id",
        ["model"] = "a model directory or Hub id",
        ["--query"] = "a text", ["--text"] = "a text",
        ["--output"] = "a path", ["output"] = "a path", ["--input"] = "a path", ["file"] = "a path", ["--data"] = "a path",
        ["--eval-data"] = "a path", ["--vocab"] = "a path", ["--corpus"] = "a path", ["--queries"] = "a path",
        ["--context-file"] = "a path", ["--stats"] = "a path", ["--plot"] = "a path", ["--cache-dir"] = "a path", ["--onnx"] = "a path",
    };

    /// <summary>
    /// Refuses a string option or argument given as an empty or whitespace-only word (<c>--output ""</c>, an unset shell
    /// variable): no command means anything by it, and one that reached a path API failed with .NET's "The value cannot be
    /// an empty string" as an internal error, or "error: : file not found".
    /// </summary>
    public static void RefuseEmptyValues(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.CommandResult.Command.Name == "launch")
        {
            return; // its arguments are another command line, checked by the command each rank runs
        }
        for (SymbolResult? r = parse.CommandResult; r is not null; r = r.Parent)
        {
            if (r is not CommandResult command)
            {
                continue;
            }
            foreach (var child in command.Children)
            {
                var (name, type) = child switch
                {
                    OptionResult o => (o.Option.Name, o.Option.ValueType),
                    ArgumentResult a => (a.Argument.Name, a.Argument.ValueType),
                    _ => (null, null),
                };
                if (name is null || OwnEmptyCheck.Contains(parse.CommandResult.Command.Name + " " + name) || (type != typeof(string) && type != typeof(string[])))
                {
                    continue;
                }
                if (child.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value)))
                {
                    throw new BertSharpException($"{name}: empty value; expected {Expected.GetValueOrDefault(name, "a value")}.");
                }
            }
        }
    }
}
