using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace BertSharp.Cli;

/// <summary>Checks of the parsed command line that hold for every command, made once before any command runs.</summary>
internal static partial class CliInput
{
    /// <summary>
    /// <paramref name="path"/>, after checking that the file <paramref name="option"/> names is there: a directory was
    /// "--input d.txt: not found." (embed, search) although it exists.
    /// </summary>
    public static string ExistingFile(string option, string path)
    {
        if (Directory.Exists(path))
        {
            throw new BertSharpException($"{option} {path}: is a directory; expected a file.");
        }
        return File.Exists(path) ? path : throw new BertSharpException($"{option} {path}: not found.");
    }

    /// <summary>
    /// The error for a one-text-per-line file (<paramref name="named"/>: its path, or option and path) with no text in its
    /// <paramref name="lines"/> lines: a file of blank lines is not called empty, which its user can see it is not.
    /// </summary>
    public static BertSharpException NoTexts(string named, int lines) => new(lines == 0
        ? $"{named}: empty file; expected one text per line."
        : $"{named}: no texts, only blank lines; expected one text per line.");

    /// <summary>The options ("command --option") whose empty value their command refuses with its own, more specific message.</summary>
    private static readonly HashSet<string> OwnEmptyCheck = new(StringComparer.Ordinal)
    {
        "predict --text", "predict --text-pair", "predict --choice", "nsp --text", "nsp --text-pair", "ner --text", "qa --question", "qa --context",
        "fill-mask --target",
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

    /// <summary>The commands whose <c>--output</c> (or <c>output</c> argument) is a directory; every other one writes a file.</summary>
    private static readonly HashSet<string> DirectoryOutputs = new(StringComparer.Ordinal) { "finetune", "convert", "pretrain", "pretrain-data" };

    /// <summary>The options (and arguments) that name files a command reads.</summary>
    private static readonly HashSet<string> InputFiles = new(StringComparer.Ordinal)
    {
        "--input", "--data", "--eval-data", "--corpus", "--queries", "--vocab", "--context-file", "file",
    };

    /// <summary>
    /// Refuses an output path that cannot be written, naming the option, before the command reads or loads anything: a file
    /// output that is a directory, a directory output that is a file, a path under an existing file (<c>afile.txt/x</c>), or
    /// a file the command reads. Found when writing, these were "Is a directory : '/tmp/x'" or "The file '.../afile.txt'
    /// already exists." with no flag, after fine-tuning had loaded the model; and <c>embed --input x.jsonl --output x.jsonl</c>
    /// replaced its input with the embeddings.
    /// </summary>
    public static void RefuseUnwritableOutputs(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command.Name;
        var inputs = parse.CommandResult.Children
            .Select(child => child switch
            {
                OptionResult o when InputFiles.Contains(o.Option.Name) => (Name: o.Option.Name, o.Tokens),
                ArgumentResult a when InputFiles.Contains(a.Argument.Name) => (Name: a.Argument.Name, a.Tokens),
                _ => (Name: "", Tokens: (IReadOnlyList<Token>)[]),
            })
            .SelectMany(x => x.Tokens.Where(t => !string.IsNullOrWhiteSpace(t.Value)).Select(t => (x.Name, Full: Path.GetFullPath(t.Value))))
            .ToList();
        foreach (var child in parse.CommandResult.Children)
        {
            var (name, path) = child switch
            {
                OptionResult { Option.Name: "--output" or "--plot" } o when o.Tokens.Count == 1 => (o.Option.Name, o.Tokens[0].Value),
                ArgumentResult { Argument.Name: "output" } a when a.Tokens.Count == 1 => (a.Argument.Name, a.Tokens[0].Value),
                _ => (null, null),
            };
            if (name is null || path is null || string.IsNullOrWhiteSpace(path))
            {
                continue;
            }
            var directory = name != "--plot" && DirectoryOutputs.Contains(command);
            // File.Exists is true for a link that ends nowhere, which the library refuses as such, not as a file.
            if (directory && IO.LinkedFile.Exists(path))
            {
                throw new BertSharpException($"{name} {path}: is a file; expected a directory (new, empty, or written by bert).");
            }
            if (!directory && Directory.Exists(path))
            {
                throw new BertSharpException($"{name} {path}: is a directory; expected a file path.");
            }
            if (!directory && inputs.FirstOrDefault(i => i.Full == Path.GetFullPath(path)).Name is { Length: > 0 } input)
            {
                throw new BertSharpException($"{name} {path}: is also the {input} file; expected another path (writing would replace the input).");
            }
            for (var parent = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(parent) && !Directory.Exists(parent);
                 parent = Path.GetDirectoryName(parent))
            {
                if (File.Exists(parent))
                {
                    // By its name: the path typed, just shown, holds it.
                    throw new BertSharpException($"{name} {path}: {Path.GetFileName(parent)} is a file, not a directory; expected a path inside a directory.");
                }
            }
        }
    }

    /// <summary>
    /// A failure about a path said as the option that named it, its path as the user typed it: a write that failed
    /// (<see cref="DescribeWriteFailure"/>) or a refusal of a path (<see cref="CliErrors.PathRefusal"/>: the library names it
    /// by its full path, <c>/tmp/x/notours: not empty ...</c>, where the user typed <c>--output notours</c>, or by the path
    /// alone, <c>nope.txt: not found ...</c>, where the user typed <c>--input nope.txt</c>). Null when it is neither, or no
    /// option's path holds it.
    /// </summary>
    public static BertSharpException? NamePath(ParseResult parse, Exception failure)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(failure);
        if (failure is IO.OutputWriteException w)
        {
            return DescribeWriteFailure(parse, w);
        }
        if (CliErrors.PathRefusal(failure) is not { } refusal || Typed(parse, refusal.Path) is not { } typed)
        {
            return null;
        }
        // The library's path follows the typed one only when it is another path (a directory inside the typed one), and then
        // by its path inside it: the typed one is named once.
        return new BertSharpException(refusal.Say(typed.Exact ? typed.Named : $"{typed.Named}: {Inside(typed.Full, refusal.Path)}"), failure);
    }

    /// <summary>
    /// An output the command could not write, said as the option that named it (<c>--plot /proc/x.png: cannot be written
    /// (no such file or directory).</c>), or null when no option's path holds it. A file written inside a directory option
    /// (a run's checkpoint's weights) is named under that option by its path inside it
    /// (<c>--output runs/x: checkpoint-4/model.safetensors cannot be written (...)</c>), so that the line names each path once.
    /// </summary>
    public static BertSharpException? DescribeWriteFailure(ParseResult parse, IO.OutputWriteException failure)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(failure);
        var target = failure.FullTarget;
        return Typed(parse, target) switch
        {
            { Exact: true } exact => new BertSharpException($"{exact.Named}: cannot be written ({failure.Reason}).", failure),
            { } parent => new BertSharpException($"{parent.Named}: {Inside(parent.Full, target)} cannot be written ({failure.Reason}).", failure),
            null => null,
        };
    }

    /// <summary><paramref name="path"/> as a path inside <paramref name="directory"/> (both full paths), '/'-separated.</summary>
    private static string Inside(string directory, string path) =>
        Path.GetRelativePath(directory, Path.GetFullPath(path)).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>
    /// <paramref name="text"/> (a notice, plan line or closing line of the library) with the full path of each file or
    /// directory the user typed, and of a path inside one, said from the path as typed (<c>runs/x/checkpoint-1</c>): the
    /// library resolves what it is given to full paths, which the user never typed (the CLI names a path as typed). A typed
    /// file's folder counts too, for the files beside it. Error lines too (<c>Program.Run</c>): <c>--model emptydir</c>'s
    /// missing <c>emptydir/config.json</c>.
    /// </summary>
    /// <remarks>
    /// Only values naming something that exists when the text is said (and --cache-dir, a path whatever it holds): a Hub id
    /// or a number is no path of the current directory, and a refusal's "no local directory /full/path" (or an ONNX model
    /// "not found at /full/path") is meant to show where it was looked for. A full
    /// path is replaced only where it ends (a '/', a space, punctuation): <c>runs/x</c> is not the start of <c>runs/x2</c>.
    /// </remarks>
    internal static string SaidAsTyped(ParseResult parse, string text)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(text);
        var typed = TypedValues(parse)
            // --cache-dir is a path even before the first download makes it: the offline refusal names where it looked.
            .Where(c => !Path.IsPathRooted(c.Value) && (Directory.Exists(c.Value) || File.Exists(c.Value) || c.Name == Commands.CommonOptions.CacheDir))
            // A typed file's folder as well: the tokenizer_config.json beside --vocab pre/vocab.txt is pre/tokenizer_config.json.
            .SelectMany(c => File.Exists(c.Value) ? [c.Value, Path.GetDirectoryName(c.Value) is { Length: > 0 } folder ? folder : "."] : new[] { c.Value })
            .Select(value => (Value: value, Full: Path.TrimEndingDirectorySeparator(Path.GetFullPath(value))))
            // The innermost first: --data runs/x/data inside --output runs/x keeps its own typed name.
            .OrderByDescending(c => c.Full.Length);
        foreach (var (value, full) in typed)
        {
            // Whole paths only, at both ends: a relative path that climbs to the root (../../tmp/x) holds its own full path
            // (/tmp/x) as its tail, which must not be replaced again.
            text = Regex.Replace(text, @"(?<![\w.~/-])" + Regex.Escape(full) + @"(?![\w-]|\.\w)",
                Path.TrimEndingDirectorySeparator(value).Replace("$", "$$", StringComparison.Ordinal), RegexOptions.CultureInvariant);
        }
        return text;
    }

    /// <summary>Every non-blank value the user typed, with the option's (or argument's) name.</summary>
    internal static IEnumerable<(string Name, string Value)> TypedValues(ParseResult parse) =>
        // Every value of an option that takes several (--input a.txt b.txt): the one a failure names is the one to show.
        parse.CommandResult.Children
            .SelectMany(child => child switch
            {
                OptionResult o => o.Tokens.Select(t => (Name: o.Option.Name, t.Value)),
                ArgumentResult a => a.Tokens.Select(t => (Name: a.Argument.Name, t.Value)),
                _ => Enumerable.Empty<(string Name, string Value)>(),
            })
            .Where(c => !string.IsNullOrWhiteSpace(c.Value));

    /// <summary>
    /// The option (or argument) with a value that is <paramref name="path"/> or the innermost directory holding it, named as the
    /// user typed it (<c>--output runs/x</c>), and whether it is the path itself; null when no option's value holds it.
    /// </summary>
    private static (string Named, bool Exact, string Full)? Typed(ParseResult parse, string path)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var candidates = TypedValues(parse)
            .Select(c => (c.Name, c.Value, Full: Path.TrimEndingDirectorySeparator(Path.GetFullPath(c.Value))))
            .ToList();
        if (candidates.FirstOrDefault(c => c.Full == target) is { Name.Length: > 0 } exact)
        {
            return ($"{exact.Name} {exact.Value}", true, exact.Full);
        }
        var parent = candidates.Where(c => target.StartsWith(c.Full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .OrderByDescending(c => c.Full.Length).FirstOrDefault();
        return parent.Name is { Length: > 0 } ? ($"{parent.Name} {parent.Value}", false, parent.Full) : null;
    }

    /// <summary>
    /// The one-line message of a command line System.CommandLine could not parse: its first error, a value that is not of
    /// the option's type first (the most specific), a missing required option last. System.CommandLine's own messages name
    /// .NET types ("as expected type 'System.Nullable`1[System.Int32]'") and span lines; they are said here as the CLI says
    /// bad input: the flag, the value and what was expected.
    /// </summary>
    public static string DescribeParseError(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.CommandResult.Command is RootCommand && parse.Tokens.Count == 0)
        {
            return "no command given; 'bert --help' lists them.";
        }
        var error = parse.Errors.OrderBy(Rank).First();
        var message = OneLine(error.Message);
        var help = $" (see 'bert {string.Join(' ', CommandPath(parse.CommandResult))}--help')";
        if (CannotParse().Match(error.Message) is { Success: true } m)
        {
            var (name, type) = Symbol(error.SymbolResult);
            return $"{name ?? m.Groups["name"].Value} {m.Groups["value"].Value}: expected {ExpectedOfType(type, m.Groups["value"].Value)}.";
        }
        if (Required().Match(error.Message) is { Success: true } r)
        {
            return $"{r.Groups["name"].Value}: required{help}.";
        }
        if (Unrecognized().Match(error.Message) is { Success: true } u)
        {
            var value = u.Groups["value"].Value;
            // "--lowercase maybe": a true/false option takes only those as its value; anything else is left over as a word.
            var at = parse.Tokens.Select(t => t.Value).ToList().IndexOf(value);
            if (at > 0 && parse.Tokens[at - 1].Type == TokenType.Option
                && parse.CommandResult.Command.Options.FirstOrDefault(o => o.Name == parse.Tokens[at - 1].Value || o.Aliases.Contains(parse.Tokens[at - 1].Value)) is { } flag
                && (Nullable.GetUnderlyingType(flag.ValueType) ?? flag.ValueType) == typeof(bool))
            {
                return $"{flag.Name} {value}: expected true or false.";
            }
            var suggestion = SuggestOption(parse.CommandResult.Command, value) is { } near ? $"; did you mean {near}?" : "";
            return $"{value}: unrecognized command or argument{suggestion}{help}.";
        }
        if (NotOneOf().Match(message) is { Success: true } n)
        {
            var (name, _) = Symbol(error.SymbolResult);
            var allowed = string.Join(", ", n.Groups["allowed"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('\'')));
            return $"{(name is null ? "" : name + " ")}{n.Groups["value"].Value}: expected one of {allowed}.";
        }
        if (MissingArgument().IsMatch(error.Message)
            && parse.CommandResult.Command.Arguments.FirstOrDefault(a => !a.Hidden && a.Arity.MinimumNumberOfValues > 0
                && (parse.GetResult(a)?.Tokens.Count ?? 0) < a.Arity.MinimumNumberOfValues) is { } missing)
        {
            // System.CommandLine names the command, not the argument it lacks, nor what belongs there.
            var what = missing.Description is { Length: > 0 } d ? ": " + char.ToLowerInvariant(d[0]) + d[1..].TrimEnd('.') : "";
            return $"<{missing.Name}>: required{what}{help}.";
        }
        if (error.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
        {
            var commands = parse.CommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            return $"{parse.CommandResult.Command.Name}: expected a command: {string.Join(", ", commands)}{help}.";
        }
        return message.TrimEnd('.') + help + ".";
    }

    // Type errors first, then the others; a missing required option last (usually a consequence of an earlier mistake).
    private static int Rank(ParseError e) =>
        CannotParse().IsMatch(e.Message) ? 0 : Required().IsMatch(e.Message) || e.Message.StartsWith("Required ", StringComparison.Ordinal) ? 2 : 1;

    // The names of HF's TrainingArguments and run_glue.py, which the tutorials a learner comes from pass, mapped to bert's.
    private static readonly Dictionary<string, string> HfFlagNames = new(StringComparer.Ordinal)
    {
        ["--learning-rate"] = "--lr",
        ["--num-train-epochs"] = "--epochs",
        ["--per-device-train-batch-size"] = "--batch-size",
        ["--train-batch-size"] = "--batch-size",
        ["--per-device-eval-batch-size"] = "--eval-batch-size",
        ["--max-seq-length"] = "--max-length",
        ["--output-dir"] = "--output",
        ["--model-name-or-path"] = "--model",
        ["--train-file"] = "--data",
        ["--validation-file"] = "--eval-data",
        ["--gradient-accumulation-steps"] = "--grad-accum",
        ["--metric-for-best-model"] = "--save-best",
        ["--resume-from-checkpoint"] = "--resume",
    };

    /// <summary>
    /// The option of <paramref name="command"/> a mistyped <paramref name="word"/> most likely meant: HF's name for it
    /// (<c>--learning_rate</c>), the same name with '_' for '-', or one within two edits (<c>--epoch</c>); null when none.
    /// </summary>
    internal static string? SuggestOption(Command command, string word)
    {
        if (!word.StartsWith("--", StringComparison.Ordinal) || word.Length < 4)
        {
            return null;
        }
        var names = command.Options.Where(o => !o.Hidden).Select(o => o.Name).ToList();
        var dashed = word.Replace('_', '-').ToLowerInvariant();
        if (HfFlagNames.TryGetValue(dashed, out var hf) && names.Contains(hf))
        {
            return hf;
        }
        var best = names.Select(n => (Name: n, Distance: EditDistance(dashed, n))).OrderBy(c => c.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= (dashed.Length > 6 ? 2 : 1) ? best.Name : null;
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    internal static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is CommandResult { Parent: not null } c; r = c.Parent)
        {
            names.Insert(0, c.Command.Name);
        }
        return string.Concat(names.Select(n => n + " "));
    }

    private static (string? Name, Type? Type) Symbol(SymbolResult? result) => result switch
    {
        OptionResult o => (o.Option.Name, o.Option.ValueType),
        ArgumentResult { Parent: OptionResult o } a => (o.Option.Name, a.Argument.ValueType),
        ArgumentResult a => (a.Argument.Name, a.Argument.ValueType),
        _ => (null, null),
    };

    /// <summary>What a value of <paramref name="type"/> looks like; for a whole number out of range, the range.</summary>
    private static string ExpectedOfType(Type? type, string value)
    {
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        if (type is not null && type.IsArray)
        {
            type = type.GetElementType();
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number";
        }
        (BigInteger Min, BigInteger Max)? range =
            type == typeof(int) ? (int.MinValue, int.MaxValue)
            : type == typeof(long) ? (long.MinValue, long.MaxValue)
            : type == typeof(uint) ? (BigInteger.Zero, new BigInteger(uint.MaxValue))
            : type == typeof(ulong) ? (BigInteger.Zero, new BigInteger(ulong.MaxValue))
            : null;
        if (range is not { } rg)
        {
            return type is { IsEnum: true } ? "one of " + string.Join(", ", Enum.GetNames(type)) : "a valid value";
        }
        // A whole number the type cannot hold (99999999999 for an int, -1 for the unsigned seed): say the bound it crossed.
        if (!BigInteger.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
        {
            return rg.Min.IsZero ? "a whole number, 0 or more" : "a whole number";
        }
        return v > rg.Max ? $"a whole number no larger than {rg.Max}"
            : rg.Min.IsZero ? "a whole number, 0 or more" : $"a whole number no smaller than {rg.Min}";
    }

    private static string OneLine(string s) => Whitespace().Replace(s, " ").Trim();

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (?:option|command|argument) '(?<name>[^']*)'", RegexOptions.Singleline)]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Option '(?<name>[^']*)' is required\.")]
    private static partial Regex Required();

    [GeneratedRegex(@"^Required argument missing for command: '")]
    private static partial Regex MissingArgument();

    [GeneratedRegex(@"^Unrecognized command or argument '(?<value>.*)'\.$", RegexOptions.Singleline)]
    private static partial Regex Unrecognized();

    [GeneratedRegex(@"^Argument '(?<value>.*)' not recognized\. Must be one of: (?<allowed>.*)$")]
    private static partial Regex NotOneOf();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
