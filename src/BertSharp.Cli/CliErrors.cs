using System.CommandLine;
using BertSharp.IO;
using BertSharp.Training;

namespace BertSharp.Cli;

/// <summary>Maps failures to the CLI contract: one line on stderr, non-zero exit code.</summary>
public static partial class CliErrors
{
    /// <summary>Exit code for bad input (files, flags, checkpoints).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code for unexpected internal errors.</summary>
    public const int Internal = 70;

    /// <summary>Exit code of a run stopped by Ctrl-C / SIGTERM (128 + SIGINT).</summary>
    public const int Cancelled = 130;

    /// <summary>The library's fields whose flag is not simply <c>--field-name</c>.</summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["learning_rate"] = "--lr",
        ["lr_scheduler_type"] = "--lr-scheduler",
        ["adam_epsilon"] = "--eps",
        ["gradient_accumulation_steps"] = "--grad-accum",
        ["per_device_eval_batch_size"] = "--eval-batch-size",
        ["label_smoothing_factor"] = "--label-smoothing",
        ["output_dir"] = "--output",
        ["max_seq_length"] = "--max-length",
        ["bucket_by_length"] = "--no-bucketing",
        ["eval_data"] = "--eval-data",
        ["data_directory"] = "--data",
        ["targets"] = "--target",
        ["texts"] = "--text",
        ["candidate_labels"] = "--labels",
        ["sequences"] = "--text",
    };

    private static readonly Lazy<HashSet<string>> Flags = new(() =>
    {
        var flags = new HashSet<string>(StringComparer.Ordinal);
        void Walk(Command c)
        {
            foreach (var o in c.Options)
            {
                flags.Add(o.Name);
            }
            foreach (var s in c.Subcommands)
            {
                Walk(s);
            }
        }
        Walk(Program.BuildRoot());
        return flags;
    });

    /// <summary>The flag the CLI uses for a library field (<c>max_length</c> → <c>--max-length</c>), or the field itself when no flag sets it.</summary>
    public static string FlagOf(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (Renamed.TryGetValue(field, out var flag))
        {
            return flag;
        }
        var kebab = "--" + field.Replace('_', '-');
        return Flags.Value.Contains(kebab) ? kebab : field;
    }

    /// <summary>A library text that names options by their snake_case fields (warnings), with the fields the CLI has flags for renamed.</summary>
    /// <remarks>
    /// A field is a snake_case name (<c>batch_size</c>), or any name written as <c>name=value</c> (<c>split=tail</c>, for the
    /// one-word fields that read as ordinary words otherwise); the latter becomes <c>--split tail</c>. Names the CLI has no
    /// flag for stay as they are.
    /// </remarks>
    public static string RenameFields(string text) =>
        FieldName().Replace(text ?? throw new ArgumentNullException(nameof(text)), m =>
        {
            var name = m.Groups["name"].Value;
            var assigned = m.Groups["eq"].Success;
            if (!assigned && !name.Contains('_', StringComparison.Ordinal))
            {
                return m.Value;
            }
            var flag = FlagOf(name);
            return flag == name ? m.Value : assigned ? flag + " " : flag;
        });

    /// <summary>
    /// A library warning or note (options named by their snake_case fields) as the CLI says it: worded as <see cref="Describe"/>
    /// words an error, with the fields found by <see cref="RenameFields"/>.
    /// </summary>
    public static string Word(string text) => Worded(RenameFields(text));

    /// <summary>
    /// A text that carries data (labels and entity types from the user's files, paths) as the CLI shows it: on one line, with
    /// its escapes shown rather than obeyed, as <see cref="Word"/> shows a warning, but with nothing renamed.
    /// </summary>
    /// <remarks>A label is the data's name: one called <c>batch_size</c> must not read as <c>--batch-size</c>.</remarks>
    public static string Shown(string text) => OneLine(text ?? throw new ArgumentNullException(nameof(text)));

    /// <summary>
    /// The program a command to run next starts with: how the user ran this one. The repository's <c>./bert</c> launcher
    /// passes its own name as typed in <c>BERTSHARP_PROG</c> (a newcomer who pasted the hint's bare <c>bert</c> after the quick
    /// start got "command not found"); the installed .NET tool is <c>bert</c> on the PATH.
    /// </summary>
    public static string NextProgram => NextProgramFrom(Environment.GetEnvironmentVariable("BERTSHARP_PROG"));

    /// <summary><see cref="NextProgram"/> for a launcher's name (null or empty: <c>bert</c>), quoted as <see cref="ShownArgument"/> quotes a path.</summary>
    internal static string NextProgramFrom(string? launcher) => string.IsNullOrEmpty(launcher) ? "bert" : ShownArgument(launcher);

    /// <summary>
    /// A path as the CLI shows it inside a command to run next: as <see cref="Shown"/> shows it, and in a POSIX shell's single
    /// quotes (a <c>'</c> in it written <c>'\''</c>) when it holds anything but letters, digits and <c>_ - . / , : = @ % +</c>,
    /// so that pasting the command passes what is shown as one argument; a path holding characters <see cref="Shown"/> writes as
    /// escapes (line breaks, tabs, terminal escapes, bidirectional controls) in <c>$'...'</c> with those escapes, which the shell
    /// (in a UTF-8 locale) turns back into the characters.
    /// </summary>
    /// <remarks>
    /// Single quotes because nothing inside them is special: in double quotes a <c>$</c>, <c>`</c> or <c>\</c> of the path
    /// would still be expanded, and bash's history expansion takes a <c>!</c>. A path with a <c>"</c> was shown inside double
    /// quotes as it was, which ended the quoting there.
    /// </remarks>
    public static string ShownArgument(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Enumerable.Range(0, path.Length).Any(i => SafeText.NeedsEscape(path, i)))
        {
            return AnsiCQuoted(path);
        }
        // Not trimmed as Shown is: a folder's leading or trailing spaces are part of its name, and the pasted command must keep them.
        return path.Length > 0 && !path.AsSpan().ContainsAnyExcept(PlainArgument) ? path : "'" + path.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
    }

    // A name with a line break, a tab, an escape or a bidirectional control: shown as Shown shows it (escapes, one line), the
    // single-quoted text pasted back a different name (a backslash and letters). In $'...' (bash, zsh, ksh; POSIX.1-2024)
    // the shell turns the escapes back into the characters. \u for everything past ASCII: $'\x85' is a byte, not U+0085.
    private static string AnsiCQuoted(string path)
    {
        var sb = new System.Text.StringBuilder("$'", path.Length + 16);
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c is '\\' or '\'')
            {
                sb.Append('\\').Append(c);
            }
            else if (!SafeText.NeedsEscape(path, i))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append(c < 0x80 ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
            }
        }
        return sb.Append('\'').ToString();
    }

    private static readonly System.Buffers.SearchValues<char> PlainArgument =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./,:=@%+");

    /// <summary>Writes a library warning (options named by their fields) to stderr as the CLI says it: <c>warning: </c> and flags.</summary>
    public static void Warn(string text) => Console.Error.WriteLine("warning: " + Word(text));

    /// <summary>As <see cref="Warn"/> for a warning that quotes the user's words (fill-mask targets): nothing in it is renamed.</summary>
    public static void WarnShown(string text) => Console.Error.WriteLine("warning: " + Shown(text));

    // Not inside a path or a file name (runs/max_length/, eval_data.tsv), which warnings quote as data: a name beside '/', '\',
    // or a '.' or '-' joined to more of the name stays; a '.' that ends the sentence does not.
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![/\\.-])\b(?<name>[a-z]+(?:_[a-z]+)*)(?:\b(?<eq>=)(?=\S)|\b(?![/\\]|[.-]\w))")]
    private static partial System.Text.RegularExpressions.Regex FieldName();

    /// <summary>A library message as the CLI says it: fields named by their flags, and the API its advice names by the command that does the same.</summary>
    public static string Describe(BertSharpException e) => Worded((e ?? throw new ArgumentNullException(nameof(e))).Render(FlagOf));

    // The one wording of errors and warnings once their fields are flags: warnings quote paths and names from files as errors
    // do, and printed without it a model directory with a line break split the warning and escapes drove the terminal.
    private static string Worded(string text) => OneLine(NameCommands(text));

    /// <summary>
    /// The library's advice names its own API ("run it with TokenClassification", "written by PretrainingDataBuilder"); a
    /// CLI user is told the command instead.
    /// </summary>
    private static readonly Dictionary<string, string> Commands = new(StringComparer.Ordinal)
    {
        ["OnnxExport.Export"] = "'bert export-onnx MODEL OUT.onnx'",
        ["OnnxImport.Convert"] = "'bert convert MODEL.onnx OUT'",
        ["PretrainingDataBuilder"] = "'bert pretrain-data'",
        ["FineTuner"] = "'bert finetune'",
        ["TextClassifier"] = "'bert predict'",
        ["TokenClassification"] = "'bert ner'",
        ["QuestionAnswering"] = "'bert qa'",
        ["MultipleChoice"] = "'bert predict --choice'",
        ["FillMask"] = "'bert fill-mask'",
        ["HubClient.DownloadModel"] = "'bert download'",
    };

    // Only right after "with " or "by ", where the advice names them: a path or an architecture (BertForTokenClassification)
    // elsewhere in the message stays as it is. The advice ends a clause (a space, ',', ';', '.' or ')' then a space or the
    // end) where a name in the message's data goes on: a folder "runs/with FineTuner/", a label 'made by FineTuner' or a
    // member (FillMask.Predict) were rewritten into "'bert finetune'/" and the like.
    private static readonly System.Text.RegularExpressions.Regex Advice = new(
        @"(?<=\b(?:with|by) )(?:" + string.Join('|', Commands.Keys.Select(System.Text.RegularExpressions.Regex.Escape)) + @")(?=[.,;)]*(?:\s|$))",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    internal static string NameCommands(string text) => Advice.Replace(text, m => Commands[m.Value]);

    /// <summary>The failure a wrapper (a task's AggregateException, a type initializer, a reflection call) carries.</summary>
    internal static Exception Root(Exception e)
    {
        var root = e ?? throw new ArgumentNullException(nameof(e));
        while (root is AggregateException { InnerException: not null } or TypeInitializationException { InnerException: not null }
               or System.Reflection.TargetInvocationException { InnerException: not null })
        {
            root = root.InnerException!;
        }
        return root;
    }

    /// <summary>
    /// The path a refusal names (an output directory that holds the user's files, another kind of bert output or an unfinished
    /// run; any other <see cref="PathException"/>: a link that ends nowhere, an output that is a file, a corrupt marker, an
    /// input that is not there) and the CLI's words for it, given how to name that path: as the library did, or as the flag
    /// and value the user typed (<see cref="CliInput.NamePath"/>). Null for any other failure.
    /// </summary>
    internal static (string Path, Func<string, string> Say)? PathRefusal(Exception e) => e switch
    {
        ForeignOutputException f => (f.Directory, named =>
            $"{named}: not empty and not written by bert (it holds {ForeignOutputException.Describe(f.ForeignEntries)}); " +
            "choose a new or empty directory, or add --overwrite (bert then replaces only its own files and removes nothing else)."),
        // Said as the CLI's other messages about its output folders say it: "written by bert".
        OtherOutputException o => (o.Directory, named =>
            $"{named}: holds output written by bert that is not {o.Kind} ({ForeignOutputException.Describe(o.OtherEntries)}), " +
            $"which writing {o.Kind} there would delete, with or without --overwrite; choose another --output."),
        UnfinishedRunException u => (u.Directory, named =>
            $"{named}: holds {Path.GetFileName(u.Checkpoint)} of an earlier run; add --resume to continue it (same settings), or choose another --output."),
        PathException p => (p.Path, named => $"{named}: {p.Problem}"),
        _ => null,
    };

    public static int Report(Exception e)
    {
        var root = Root(e);
        switch (root)
        {
            case Exception when PathRefusal(root) is { } refusal:
                // A problem may name fields ("nothing to resume"), said as flags like any library message's.
                Console.Error.WriteLine("error: " + Describe(new BertSharpException(refusal.Say(refusal.Path))));
                return BadInput;
            case TrainingCancelledException c:
                Console.Error.WriteLine(c.Checkpoint is null
                    ? $"error: interrupted at step {c.Step} of {c.TotalSteps}, before the first checkpoint; nothing was kept."
                    : $"error: interrupted at step {c.Step} of {c.TotalSteps}; the last complete checkpoint is {OneLine(c.Checkpoint)}. Run the same command with --resume to continue from it.");
                return Cancelled;
            case BertSharpException b:
                Console.Error.WriteLine("error: " + Describe(b));
                return BadInput;
            case FileNotFoundException f:
                Console.Error.WriteLine($"error: {OneLine(f.FileName ?? "file")}: not found.");
                return BadInput;
            case DirectoryNotFoundException or UnauthorizedAccessException or IOException:
                Console.Error.WriteLine("error: " + OneLine(root.Message));
                return BadInput;
            case OperationCanceledException { InnerException: OperationCanceledException } stopped:
                // A command that caught its stop says in its own words where it stopped and what it kept or removed (bench
                // pretrain-memory: the step, and no --resume for a run it removed; pretrain-data: nothing written); the
                // generic line below dropped them.
                Console.Error.WriteLine("error: " + OneLine(stopped.Message));
                return Cancelled;
            case OperationCanceledException:
                Console.Error.WriteLine("error: cancelled.");
                return Cancelled;
            default:
                Console.Error.WriteLine($"error: internal error ({root.GetType().Name}): {OneLine(root.Message)}");
                if (Environment.GetEnvironmentVariable("BERTSHARP_DEBUG") == "1")
                {
                    Console.Error.WriteLine(root);
                }
                return Internal;
        }
    }

    // Messages quote names from untrusted files; escapes keep them from driving the terminal.
    private static string OneLine(string s, bool trim = true)
    {
        var line = s.ReplaceLineEndings(" ");
        return SafeText.Escape(trim ? line.Trim() : line);
    }
}
