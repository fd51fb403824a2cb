using System.Text;
using CsvHelper;

namespace BertSharp.IO;

/// <summary>
/// Loads a list of texts: one per line of a <c>.txt</c>/<c>.txt.gz</c> file that holds more than white space, or one per row of a
/// <c>.csv</c>/<c>.csv.gz</c> file with a header (the IMDb files: <c>review,sentiment,...</c>), whose rows must all have a text
/// that holds more than white space. Other extensions are refused.
/// </summary>
public static class TextCorpus
{
    /// <summary>True for <c>.txt</c> and <c>.txt.gz</c> paths.</summary>
    private static bool IsText(string path) =>
        path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".txt.gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for <c>.csv</c> and <c>.csv.gz</c> paths.</summary>
    public static bool IsCsv(string path) =>
        path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads the texts of <paramref name="path"/>. For CSV, <paramref name="column"/> names the text column (default:
    /// <c>review</c>, else <c>text</c>). Bad input (an extension other than .txt or .csv, missing file or column, invalid
    /// UTF-8, malformed CSV, a row without the column or with a blank text) is a <see cref="BertSharpException"/> naming the file and line.
    /// </summary>
    public static List<string> ReadTexts(string path, string? column = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsCsv(path))
        {
            return ReadCsvColumn(path, column);
        }
        // A line of spaces is blank, as embed, predict and pretrain-data skip it: it was timed as a text of [CLS] [SEP].
        // Any other file was read as plain text: a .tsv or .jsonl file was timed as raw lines, its columns, braces and quotes
        // tokenized as if they were the texts.
        return IsText(path)
            ? TextLines.Read(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToList()
            : throw new BertSharpException($"{path}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).");
    }

    private static List<string> ReadCsvColumn(string path, string? column)
    {
        var texts = new List<string>();
        var options = DelimitedText.Options();
        try
        {
            using var reader = CsvReader.Create(TextLines.OpenText(path), options, false);
            reader.ReadHeader();
            var header = reader.Headers.Select(h => h.Trim()).ToArray();
            if (header.Length == 0)
            {
                throw new BertSharpException($"{path}: empty CSV file; expected a header line.");
            }
            var name = column ?? (header.Contains("review") ? "review" : "text");
            var index = Array.IndexOf(header, name);
            if (index < 0)
            {
                var expected = column is null ? "a column 'review' or 'text'" : $"a column '{column}'";
                throw new BertSharpException($"{path}: expected {expected} in the header; it has {string.Join(",", header)}.");
            }
            while (reader.Read())
            {
                if (reader.FieldCount <= index)
                {
                    throw new BertSharpException(
                        Invariant($"{LineRef.At(path, reader.LineNumber)}: missing field '{name}' (the row has {reader.FieldCount} field{(reader.FieldCount == 1 ? "" : "s")}, expected {header.Length})."));
                }
                var text = reader.GetString(index) ?? "";
                // As every other CSV input (DatasetReader): a row whose text is blank is a fault of the file, where it was
                // timed as a text of [CLS] [SEP] (bench/hf_tokenize.js agrees).
                if (string.IsNullOrWhiteSpace(text))
                {
                    throw new BertSharpException(Invariant($"{LineRef.At(path, reader.LineNumber)}: field '{name}' is empty; expected text."));
                }
                texts.Add(text);
            }
        }
        catch (DecoderFallbackException e)
        {
            throw TextLines.InvalidUtf8(path, e);
        }
        catch (InvalidDataException e)
        {
            throw new BertSharpException($"{path}: not a valid gzip file ({e.Message}).", e);
        }
        catch (CsvFormatException e)
        {
            throw DelimitedText.Malformed(path, e);
        }
        return texts;
    }
}
