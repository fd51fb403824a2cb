using System.Text;
using System.Text.Json;

namespace BertSharp.Cli.Commands;

/// <summary>Reads <c>bert tokenize</c> input: JSONL objects with <c>text</c> / <c>text_pair</c>, or plain text lines.</summary>
internal static class TokenizeInput
{
    public static List<(string Text, string? TextPair)> Read(string? path, string format)
    {
        var name = path ?? "<stdin>";
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        TextReader reader;
        try
        {
            reader = path is null ? new StreamReader(Console.OpenStandardInput(), encoding) : new StreamReader(path, encoding);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{name}: cannot read the input ({e.Message})", e);
        }
        var result = new List<(string, string?)>();
        var lineNo = 0;
        bool? jsonl = format switch
        {
            "jsonl" => true,
            "text" => false,
            _ => null,
        };
        using (reader)
        {
            while (true)
            {
                string? line;
                try
                {
                    line = reader.ReadLine();
                }
                catch (DecoderFallbackException)
                {
                    throw new BertSharpException($"{name}: line {lineNo + 1}: not valid UTF-8.");
                }
                catch (IOException e)
                {
                    throw new BertSharpException($"{name}: cannot read the input ({e.Message})", e);
                }
                if (line is null)
                {
                    break;
                }
                lineNo++;
                if (lineNo == 1 && line.Length > 0 && line[0] == '\uFEFF')
                {
                    line = line[1..];
                }
                jsonl ??= line.TrimStart().StartsWith('{');
                if (jsonl == false)
                {
                    result.Add((line, null));
                }
                else if (!string.IsNullOrWhiteSpace(line))
                {
                    result.Add(ParseJson(line, name, lineNo));
                }
            }
        }
        return result;
    }

    private static (string, string?) ParseJson(string line, string name, int lineNo)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException($"{name}: line {lineNo}: expected a JSON object with a \"text\" string.");
            }
            if (!root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw new BertSharpException($"{name}: line {lineNo}: missing string field \"text\".");
            }
            string? pair = null;
            if (root.TryGetProperty("text_pair", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                pair = p.ValueKind == JsonValueKind.String
                    ? p.GetString()
                    : throw new BertSharpException($"{name}: line {lineNo}: \"text_pair\" must be a string or null.");
            }
            return (text.GetString()!, pair);
        }
        catch (JsonException e)
        {
            throw new BertSharpException($"{name}: line {lineNo}: malformed JSON ({e.Message.Split('\n')[0]})", e);
        }
    }
}
