using System.Text.Json;

namespace BertSharp.Cli.Commands;

/// <summary>Reads <c>bert tokenize</c> input: JSONL objects with <c>text</c> / <c>text_pair</c>, or plain text lines.</summary>
internal static class TokenizeInput
{
    /// <summary>The texts of an input, the line each came from (for messages) and the input's name.</summary>
    internal sealed record Texts(string Name, List<(string Text, string? TextPair)> Items, List<int> Lines);

    public static Texts Read(string? path, string format)
    {
        var name = path ?? "<stdin>";
        Stream stream;
        try
        {
            stream = path is null ? Console.OpenStandardInput() : IO.TextLines.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{name}: cannot read the input ({e.Message})", e);
        }
        var result = new Texts(name, [], []);
        bool? jsonl = format switch
        {
            "jsonl" => true,
            "text" => false,
            _ => null,
        };
        // Split into lines before decoding: an invalid byte is reported on its own line, and one huge line is refused at
        // the line limit instead of filling memory.
        using var reader = new IO.Utf8LineReader(stream, name);
        // With --format auto, blank lines before the first text decide nothing (JSONL skips them): they wait here, and are
        // texts of their own only if the input turns out to be plain text. Deciding on a blank first line read a JSONL
        // file as plain text and tokenized its braces and quotes.
        var undecided = new List<(string Line, int LineNo)>();
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (IOException e)
            {
                throw new BertSharpException($"{name}: cannot read the input ({e.Message})", e);
            }
            if (line is null)
            {
                break;
            }
            var lineNo = (int)reader.LineNumber;
            if (jsonl is null)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    undecided.Add((line, lineNo));
                    continue;
                }
                jsonl = line.TrimStart().StartsWith('{');
                if (jsonl == false)
                {
                    foreach (var (blank, blankNo) in undecided)
                    {
                        Add(result, (blank, null), blankNo);
                    }
                }
            }
            if (jsonl == false)
            {
                Add(result, (line, null), lineNo);
            }
            else if (!string.IsNullOrWhiteSpace(line))
            {
                Add(result, ParseJson(line, name, lineNo), lineNo);
            }
        }
        // Only blank lines: plain text, one (empty) text per line, as --format text reads them.
        foreach (var (blank, blankNo) in jsonl is null ? undecided : [])
        {
            Add(result, (blank, null), blankNo);
        }
        // Nothing to tokenize is an input mistake (a wrong file, an empty pipe), refused as the other commands refuse it; a
        // blank line is a text of its own (one output row per input line), so only a JSON lines input of blank lines gets here
        // with lines in it.
        if (result.Items.Count == 0)
        {
            throw path is null
                ? new BertSharpException($"{name}: empty input; expected one text per line.")
                : CliInput.NoTexts(name, (int)reader.LineNumber);
        }
        return result;
    }

    private static void Add(Texts texts, (string Text, string? TextPair) item, int line)
    {
        texts.Items.Add(item);
        texts.Lines.Add(line);
    }

    private static (string, string?) ParseJson(string line, string name, int lineNo)
    {
        IO.StrictJson.RefuseLoneSurrogates(name, line, lineNo);
        try
        {
            // A key given twice would leave it open which text is meant: refused, as every JSON file BertSharp reads.
            using var doc = JsonDocument.Parse(line, IO.StrictJson.Options);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException($"{IO.LineRef.At(name, lineNo)}: expected a JSON object with a \"text\" string.");
            }
            if (!root.TryGetProperty("text", out var text))
            {
                throw new BertSharpException($"{IO.LineRef.At(name, lineNo)}: missing string field \"text\".");
            }
            if (text.ValueKind != JsonValueKind.String)
            {
                // Present but not text: "missing" sent the user looking for a field that is there.
                throw new BertSharpException($"{IO.LineRef.At(name, lineNo)}: field \"text\" is a JSON {text.ValueKind.ToString().ToLowerInvariant()}; expected a string.");
            }
            string? pair = null;
            if (root.TryGetProperty("text_pair", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                pair = p.ValueKind == JsonValueKind.String
                    ? p.GetString()
                    : throw new BertSharpException($"{IO.LineRef.At(name, lineNo)}: \"text_pair\" must be a string or null.");
            }
            return (text.GetString()!, pair);
        }
        catch (JsonException e)
        {
            throw IO.StrictJson.DuplicateKeyError(IO.LineRef.At(name, lineNo), line, e)
                ?? new BertSharpException($"{IO.LineRef.At(name, lineNo)}: not valid JSON ({IO.LineRef.JsonReason(e)})", e);
        }
    }
}
