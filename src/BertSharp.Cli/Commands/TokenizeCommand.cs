using System.CommandLine;
using System.Text;
using System.Text.Json;
using BertSharp.IO;
using BertSharp.Tokenization;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert tokenize</c>: encodes texts (JSONL or plain lines) into JSONL with ids, type ids, masks and offsets.</summary>
internal static class TokenizeCommand
{
    private const int Chunk = 8192;

    /// <summary>
    /// The longest padded encoding tokenize writes: <see cref="Modeling.BertConfig.MaxPositions"/>, the most positions a model
    /// BertSharp loads may have, so a longer one could not be fed to any. Unbounded, --pad-length 2000000000 allocated until
    /// OutOfMemoryException.
    /// </summary>
    internal const int MaxPaddedLength = Modeling.BertConfig.MaxPositions;

    /// <summary>
    /// Padded tokens held at once with --padding max_length: a chunk holds this many / the padded length lines (at most
    /// <see cref="Chunk"/>), so memory stays near 4M tokens (~160 MB of encodings) at any length; 512 keeps the full chunk.
    /// </summary>
    internal const int PaddedTokensPerChunk = 1 << 22;

    /// <summary>Lines encoded at once: fewer when long fixed padding would make <see cref="Chunk"/> lines too big to hold.</summary>
    internal static int ChunkFor(EncodeOptions options) =>
        options.Padding == PaddingStrategy.MaxLength && (options.PaddingLength ?? options.MaxLength) is { } padded
            ? Math.Clamp(PaddedTokensPerChunk / Math.Max(1, RoundUp(padded, options.PadToMultipleOf)), 1, Chunk)
            : Chunk;

    private static int RoundUp(long length, int? multiple) =>
        (int)Math.Min(int.MaxValue, multiple is > 0 and var m ? (length + m - 1) / m * m : length);

    /// <summary>
    /// <paramref name="length"/> rounded up to <paramref name="multiple"/>, refused above <see cref="MaxPaddedLength"/>;
    /// <paramref name="source"/> names the flag (and value) the length comes from.
    /// </summary>
    private static int PaddedLength(long length, int? multiple, string source)
    {
        var padded = RoundUp(length, multiple);
        if (padded > MaxPaddedLength)
        {
            throw new BertSharpException(
                $"{source}: expected a padded length of at most {MaxPaddedLength}{(multiple is { } m ? $" after rounding up to a multiple of {m}" : "")} (the most positions a BERT model may have).");
        }
        return padded;
    }

    public static Command Create()
    {
        var vocab = new Option<string>("--vocab") { Description = "vocab.txt, an HF tokenizer.json, or a tokenizer directory.", Required = true };
        var lowercase = CommonOptions.Lowercase();
        var input = new Option<string?>("--input") { Description = "Input file: JSONL lines {\"text\": ..., \"text_pair\": ...} or plain text, one per line (default: stdin)." };
        var output = new Option<string?>("--output") { Description = "Output JSONL file, written atomically (default: stdout, written once every line is encoded, so a failing line leaves nothing on it)." };
        var format = new Option<string>("--format") { Description = "Input format: auto (JSONL if the first line that is not blank starts with '{'), jsonl or text.", DefaultValueFactory = _ => "auto" };
        format.AcceptOnlyFromAmong("auto", "jsonl", "text");
        var maxLength = new Option<int?>("--max-length") { Description = "Maximum tokens per encoding, special tokens included (default: no limit; tokenize has no model to take a length from)." };
        var truncation = new Option<string>("--truncation") { Description = "longest_first, only_first, only_second or none (applies with --max-length).", DefaultValueFactory = _ => "longest_first" };
        truncation.AcceptOnlyFromAmong("longest_first", "only_first", "only_second", "none");
        var truncationSide = CommonOptions.TruncationSide("HF's right is head, left is tail; overflowing windows (--stride) step from the kept end. Default head.");
        var headTokens = CommonOptions.HeadTokens();
        var padding = new Option<string>("--padding") { Description = "none, longest (of the whole input) or max_length.", DefaultValueFactory = _ => "none" };
        padding.AcceptOnlyFromAmong("none", "longest", "max_length");
        var stride = new Option<int>("--stride") { Description = "Overlap between overflowing windows; with --max-length the cut-off tokens are written as \"overflowing\" windows." };
        var padLength = new Option<int?>("--pad-length") { Description = "With --padding max_length: pad to this length instead of --max-length (HF's fixed padding)." };
        var padMultiple = new Option<int?>("--pad-to-multiple-of") { Description = "Round padded lengths up to a multiple of N (e.g. 8)." };

        var cmd = new Command("tokenize", "Tokenize texts with a BERT WordPiece vocabulary (HF-identical) and write JSONL.")
        {
            vocab, lowercase, input, output, format, maxLength, truncation, padding, stride, truncationSide, headTokens, padLength, padMultiple,
        };
        cmd.SetAction(parse =>
        {
            var max = parse.GetValue(maxLength);
            var pad = ParsePadding(parse.GetValue(padding)!);
            if (max is <= 0)
            {
                throw new BertSharpException($"--max-length must be positive, got {max}.");
            }
            if (pad == PaddingStrategy.MaxLength && max is null && parse.GetValue(padLength) is null)
            {
                throw new BertSharpException("--padding max_length needs --max-length or --pad-length.");
            }
            if (parse.GetValue(padLength) is { } pl && (pl <= 0 || pad != PaddingStrategy.MaxLength))
            {
                throw new BertSharpException($"--pad-length {pl}: expected a positive length, with --padding max_length.");
            }
            if (parse.GetValue(padMultiple) is { } pm && (pm <= 0 || pad == PaddingStrategy.None))
            {
                throw new BertSharpException($"--pad-to-multiple-of {pm}: expected a positive number, with --padding longest or max_length.");
            }
            if (parse.GetValue(padMultiple) is > MaxPaddedLength)
            {
                throw new BertSharpException($"--pad-to-multiple-of {parse.GetValue(padMultiple)}: expected 1..{MaxPaddedLength} (the most positions a BERT model may have).");
            }
            if (pad == PaddingStrategy.MaxLength)
            {
                var (flag, value) = parse.GetValue(padLength) is { } given ? ("--pad-length", given) : ("--max-length", max!.Value);
                PaddedLength(value, parse.GetValue(padMultiple), $"{flag} {value}");
            }
            var strideValue = parse.GetValue(stride);
            if (strideValue < 0)
            {
                throw new BertSharpException($"--stride must be >= 0, got {strideValue}.");
            }
            if (max is null && parse.GetResult(stride) is not null)
            {
                // Without a length nothing is cut, so there are no windows: the flag did nothing, and exit 0 said it had.
                throw new BertSharpException($"--stride {strideValue}: only with --max-length (the overflowing windows are cut at that length).");
            }
            if (max is { } m && strideValue >= m)
            {
                throw new BertSharpException($"--stride {strideValue} must be smaller than --max-length {m} (windows overlap by the stride).");
            }
            var side = CommonOptions.Truncation(parse, truncationSide, headTokens);
            var options = new EncodeOptions
            {
                MaxLength = max,
                Truncation = ParseTruncation(parse.GetValue(truncation)!),
                Padding = pad,
                Stride = strideValue,
                ReturnOverflowing = max is not null && parse.GetResult(stride) is not null,
                PaddingLength = parse.GetValue(padLength),
                PadToMultipleOf = parse.GetValue(padMultiple),
                TruncationSide = side?.Side ?? TruncationSide.Head,
                HeadTokens = side?.HeadTokens,
            };
            var lowercasing = CommonOptions.ResolveLowercase(parse.GetValue(vocab)!, parse, lowercase);
            var tok = CommonOptions.WithClsSep(BertTokenizer.FromPath(parse.GetValue(vocab)!, lowercasing.Lowercase), parse.GetValue(vocab)!, "tokenize");
            var inputPath = parse.GetValue(input);
            var inputs = TokenizeInput.Read(inputPath, parse.GetValue(format)!);
            var outPath = parse.GetValue(output);
            if (outPath is null)
            {
                // Spooled to a temporary file and copied once every chunk is encoded: a line that fails to encode in a later
                // chunk (only_second with a short pair, say) left the chunks before it on stdout, a half-written output that a
                // pipe cannot tell from a whole one. A file, not memory: padded encodings are many times the input's size.
                using var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"bertsharp-tokenize-{AtomicFile.NewId()}.jsonl"),
                    FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                Write(tok, inputs, options, spool);
                spool.Position = 0;
                // Through Console.Out (not the raw stdout stream) so that redirection of Console works, e.g. in tests.
                using var stdout = new TextWriterStream(Console.Out);
                spool.CopyTo(stdout);
            }
            else
            {
                AtomicFile.Write(outPath, s => Write(tok, inputs, options, s));
            }
            // After the work: a failed run's stderr stays the one error line. Shown as data: it quotes the vocabulary's tokens, whose escapes drove the terminal.
            Console.Error.WriteLine("tokenize: " + CliErrors.Shown(CliInput.SaidAsTyped(parse, lowercasing.ToString())));
            return 0;
        });
        return cmd;
    }

    private static void Write(BertTokenizer tok, TokenizeInput.Texts input, EncodeOptions options, Stream stream)
    {
        var inputs = input.Items;
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = CliJson.Options.Encoder });
        if (options.Padding == PaddingStrategy.Longest)
        {
            // The padded length is known only once every input is encoded: it is bounded as fixed padding is, before a line
            // is written, and each encoding is padded as it is written so that not all are held at that length at once
            // (--pad-to-multiple-of 1048576 made every line 1M tokens).
            var encodings = EncodeBatch(tok, input, 0, inputs, options with { Padding = PaddingStrategy.None });
            var longest = encodings.Count == 0 ? 0 : encodings.Max(e => e.Length);
            var length = PaddedLength(longest, options.PadToMultipleOf, $"--padding longest (the longest encoding has {longest} tokens)");
            foreach (var e in encodings)
            {
                WriteLine(w, stream, Padding.Pad(tok, e, length, options.PaddingSide), options.ReturnOverflowing);
            }
            return;
        }
        var chunk = ChunkFor(options);
        for (var from = 0; from < inputs.Count; from += chunk)
        {
            var slice = new (string, string?)[Math.Min(chunk, inputs.Count - from)];
            for (var i = 0; i < slice.Length; i++)
            {
                slice[i] = inputs[from + i];
            }
            foreach (var e in EncodeBatch(tok, input, from, slice, options))
            {
                WriteLine(w, stream, e, options.ReturnOverflowing);
            }
        }
    }

    /// <summary>
    /// <see cref="BertTokenizer.EncodeBatch"/> of <paramref name="slice"/> (items <paramref name="from"/>.. of
    /// <paramref name="input"/>); a text the options cannot encode (too short for only_second, a stride too large for what
    /// is left of it) is named by its input line, which the library's message cannot know.
    /// </summary>
    private static IReadOnlyList<BertEncoding> EncodeBatch(BertTokenizer tok, TokenizeInput.Texts input, int from,
        IReadOnlyList<(string Text, string? TextPair)> slice, EncodeOptions options)
    {
        try
        {
            return tok.EncodeBatch(slice, options);
        }
        catch (BertSharpException)
        {
            // Options wrong for every input are not any line's fault.
            options.Validate();
            for (var i = 0; i < slice.Count; i++)
            {
                try
                {
                    tok.Encode(slice[i].Text, slice[i].TextPair, options);
                }
                catch (BertSharpException e)
                {
                    // Render keeps the message's field references, so that the CLI still names them by their flags.
                    throw new BertSharpException($"{LineRef.At(input.Name, input.Lines[from + i])}: {e.Render(BertSharpException.Field)}", e);
                }
            }
            throw;
        }
    }

    private static void WriteLine(Utf8JsonWriter w, Stream stream, BertEncoding e, bool overflowing)
    {
        WriteEncoding(w, e, overflowing);
        w.Flush();
        stream.WriteByte((byte)'\n');
        w.Reset();
    }

    private static void WriteEncoding(Utf8JsonWriter w, BertEncoding e, bool overflowing)
    {
        w.WriteStartObject();
        w.WriteStartArray("tokens");
        foreach (var t in e.Tokens)
        {
            w.WriteStringValue(t);
        }
        w.WriteEndArray();
        Ints(w, "ids", e.Ids);
        Ints(w, "type_ids", e.TypeIds);
        Ints(w, "attention_mask", e.AttentionMask);
        w.WriteStartArray("offsets");
        foreach (var (s, t) in e.Offsets)
        {
            w.WriteStartArray();
            w.WriteNumberValue(s);
            w.WriteNumberValue(t);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        if (overflowing)
        {
            w.WriteStartArray("overflowing");
            foreach (var o in e.Overflowing)
            {
                WriteEncoding(w, o, false);
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void Ints(Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteNumberValue(v);
        }
        w.WriteEndArray();
    }

    private static TruncationStrategy ParseTruncation(string s) => s switch
    {
        "only_first" => TruncationStrategy.OnlyFirst,
        "only_second" => TruncationStrategy.OnlySecond,
        "none" => TruncationStrategy.None,
        _ => TruncationStrategy.LongestFirst,
    };

    private static PaddingStrategy ParsePadding(string s) => s switch
    {
        "longest" => PaddingStrategy.Longest,
        "max_length" => PaddingStrategy.MaxLength,
        _ => PaddingStrategy.None,
    };
}
