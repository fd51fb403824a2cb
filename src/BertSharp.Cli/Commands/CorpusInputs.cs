namespace BertSharp.Cli.Commands;

/// <summary>What the commands that read a corpus (pretrain-data, vocab train) say of its files, in one wording.</summary>
internal static class CorpusInputs
{
    /// <summary>
    /// Warns of an input without text beside others that have some: no error, as the others make the output, but an
    /// empty file in a researcher's folder (a failed download, the wrong file) was easy to miss.
    /// </summary>
    public static void WarnNoText(string path) =>
        Console.Error.WriteLine($"warning: {CliErrors.Shown(path)}: no text; it adds nothing to the data.");
}
