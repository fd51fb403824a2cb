using CsvHelper;

namespace BertSharp.IO;

/// <summary>
/// The one CsvHelper setup of every CSV/TSV reader (data sets, SWAG, text corpora): a header row unless the format has fixed
/// columns, empty lines skipped, line numbers kept for messages, malformed quoting an error rather than a guess, and TSV
/// read without quoting (GLUE's files hold bare '"' characters in sentences).
/// </summary>
internal static class DelimitedText
{
    public static CsvReaderOptions Options(char separator = ',', bool hasHeader = true) => new()
    {
        Separator = separator,
        Mode = separator == '\t' ? CsvMode.NoEscape : CsvMode.Rfc4180,
        HasHeader = hasHeader,
        SkipEmptyLines = true,
        TrackLineNumbers = true,
        MalformedData = CsvMalformedDataHandling.Throw,
    };

    /// <summary>The one-line error for CsvHelper's <paramref name="e"/> in <paramref name="path"/>, with what was expected.</summary>
    public static BertSharpException Malformed(string path, CsvFormatException e, string? expected = null) =>
        new(Invariant($"{LineRef.At(path, e.LineNumber)}: malformed CSV ({e.Message.TrimEnd('.')}){(expected is null ? "" : "; expected " + expected)}."), e);
}
