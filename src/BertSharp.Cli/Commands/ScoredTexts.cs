using static System.FormattableString;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The texts <c>bert rerank</c> and <c>bert zero-shot</c> score, given as <c>--text</c> (repeatable) or one per line of
/// <c>--input FILE</c>, and the checks of their shared <c>--batch-size</c> and <c>--output</c> (.tsv or .jsonl).
/// </summary>
internal static class ScoredTexts
{
    /// <summary>Refuses, before anything is loaded: texts from both or neither source, a batch size below 1, an output of another extension.</summary>
    public static void Check(string command, string[] given, string? input, int batchSize, string? output)
    {
        if ((given.Length > 0) == (input is not null))
        {
            throw new BertSharpException($"{command}: give the texts with --text \"...\" (repeatable) or --input FILE, not both.");
        }
        if (batchSize < 1)
        {
            throw new BertSharpException(Invariant($"--batch-size {batchSize}: expected a positive number."));
        }
        if (output is { } o && !IsJsonLines(o) && !o.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase))
        {
            throw new BertSharpException($"--output {o}: unknown extension; expected .tsv or .jsonl (the format is chosen by the extension).");
        }
    }

    /// <summary>The texts, and for a file the 1-based line each starts on (messages name a text by it); null lines for <c>--text</c>.</summary>
    public static (IReadOnlyList<string> Texts, List<int>? Lines) Read(string[] given, string? input, string textColumn)
    {
        if (given.Length > 0)
        {
            return (given, null);
        }
        var (texts, _, lines) = EmbedInput.ReadNumbered(CliInput.ExistingFile("--input", input!), textColumn, null);
        return (texts, lines);
    }

    /// <summary>Whether <c>--output</c> asks for JSON lines (else TSV).</summary>
    public static bool IsJsonLines(string path) => path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
}
