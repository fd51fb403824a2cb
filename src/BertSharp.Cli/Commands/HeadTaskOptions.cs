using System.CommandLine;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The options of the task heads (ner / squad / swag) in <c>finetune</c>, <c>evaluate</c> and <c>predict</c>, declared once
/// for the commands that hand over to <see cref="HeadTaskCli"/>.
/// </summary>
internal sealed class HeadTaskOptions
{
    public Option<bool> LabelAllTokens { get; } = new("--label-all-tokens")
    {
        Description = "ner: label every word piece of a word (B-X becomes I-X on the continuation pieces), not just the first (HF's label_all_tokens).",
    };

    public Option<string?> Labels { get; } = new("--labels")
    {
        Description = "ner: the tag names in id order (comma-separated, or a file with one per line) for JSON lines whose ner_tags are integers; default: the sorted tags of the training data.",
    };

    public Option<int> DocStride { get; } = CommonOptions.DocStride("squad: context tokens shared by consecutive windows of a long context (at most half of a window's context, so that each window moves on).");

    public Option<int> MaxAnswerLength { get; } = CommonOptions.MaxAnswerLength(HeadFineTuneOptions.DefaultMaxAnswerLength,
        "squad: longest answer in tokens when decoding for exact match / F1.");

    public Option<double> NullScoreDiffThreshold { get; } = new("--null-score-diff-threshold")
    {
        Description = "squad v2.0: answer \"no answer\" when ln P(null) − ln P(best span) is above this (evaluate also reports best_f1_thresh).",
        DefaultValueFactory = _ => 0.0,
    };

    public Option<string?> NerMode { get; } = Choice("--ner-mode",
        "ner: how seqeval reads entities: default (as HF run_ner reports, conlleval's rules: an I-X after O or another type starts an entity) or strict (an entity counts only as a whole chunk of --ner-scheme). "
        + "Default: default; for evaluate, the mode the model was fine-tuned with (training_args.json), else default.",
        ["default", "strict"]);

    public Option<string?> NerScheme { get; } = Choice("--ner-scheme",
        "ner, --ner-mode strict: the tagging scheme entities are read by (seqeval's scheme): IOB2, IOE2, IOBES or BILOU; a tag outside it is an error. "
        + "For evaluate of a model fine-tuned in strict mode, alone: that mode with this scheme.",
        Enum.GetNames<SeqevalScheme>());

    public IEnumerable<Option> ForFinetune => [LabelAllTokens, Labels, NerMode, NerScheme, DocStride, MaxAnswerLength, NullScoreDiffThreshold];

    public IEnumerable<Option> ForEvaluate => [Labels, NerMode, NerScheme, DocStride, MaxAnswerLength, NullScoreDiffThreshold];

    /// <summary>
    /// The scheme of seqeval's strict mode, or null for its default mode (and for a task other than ner, whose flags
    /// <see cref="RefuseOtherHeads"/> refuses); refuses a strict mode without a scheme and a scheme without the strict mode
    /// (the default mode would ignore it).
    /// </summary>
    public SeqevalScheme? StrictScheme(ParseResult p, HeadTask task)
    {
        if (task != HeadTask.TokenClassification)
        {
            return null;
        }
        var strict = p.GetValue(NerMode) == "strict";
        return p.GetValue(NerScheme) switch
        {
            null when strict => throw new BertSharpException($"--ner-mode strict: give the scheme with --ner-scheme ({string.Join(", ", Enum.GetNames<SeqevalScheme>())})."),
            { } given when !strict => throw new BertSharpException($"--ner-scheme {given}: only with --ner-mode strict (the default mode reads IOB1, IOB2, IOE and IOBES tags alike)."),
            { } name => Enum.Parse<SeqevalScheme>(name),
            null => null,
        };
    }

    /// <summary>
    /// evaluate's seqeval mode (<see cref="StrictScheme"/>): the flags' when --ner-mode is given, else the one
    /// <paramref name="model"/> was fine-tuned with (its training_args.json records it), so that its F1 is the run's own, a
    /// --ner-scheme alone changing only a recorded strict mode's scheme; with where it came from, or null for the default mode
    /// that nothing chose.
    /// </summary>
    public (SeqevalScheme? Scheme, string? From) EvaluationScheme(ParseResult p, string model)
    {
        if (CommonOptions.Given(p, NerMode))
        {
            return (StrictScheme(p, HeadTask.TokenClassification), NerMode.Name);
        }
        var recorded = $"the model's {TrainingArgsFile.FileName}";
        var trained = SeqevalMode.Trained(model);
        if (p.GetValue(NerScheme) is { } name)
        {
            // The recorded strict mode is the mode the scheme needs: asking for --ner-mode strict as well would repeat it.
            return trained is not null
                ? (Enum.Parse<SeqevalScheme>(name), $"{NerScheme.Name}, strict as in {recorded}")
                : throw new BertSharpException($"{NerScheme.Name} {name}: only with --ner-mode strict, or alone for a model fine-tuned in strict mode " +
                    $"({recorded} records no strict mode; the default mode reads IOB1, IOB2, IOE and IOBES tags alike).");
        }
        return trained is { } t ? (t, recorded) : (null, null);
    }

    // Checked while parsing, so a misspelt value is named by its flag.
    private static Option<string?> Choice(string name, string description, string[] values)
    {
        var option = new Option<string?>(name) { Description = description };
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    /// <summary>Refuses head-task options on a sequence-classification task (they would be ignored silently), naming the head each is for.</summary>
    public static void RefuseFor(ParseResult p, string task, IEnumerable<Option> options)
    {
        foreach (var o in options.Where(o => CommonOptions.Given(p, o)))
        {
            throw new BertSharpException($"{o.Name}: only for the {HeadFineTuneOptions.Names(HeadFineTuneOptions.TaskSettings[Field(o)])[0]} task, not for --task {task}.");
        }
    }

    /// <summary>
    /// Refuses the given options of a head other than <paramref name="task"/> by the library's rule and words
    /// (<see cref="HeadFineTuneOptions.RequireTaskSetting"/>, its field shown as the flag), before any is read: a tag list
    /// given for squad is refused as misplaced, not for what it holds.
    /// </summary>
    public static void RefuseOtherHeads(ParseResult p, HeadTask task, IEnumerable<Option> options)
    {
        foreach (var o in options.Where(o => CommonOptions.Given(p, o)))
        {
            HeadFineTuneOptions.RequireTaskSetting(task, Field(o), p.GetResult(o)!.GetValueOrDefault<object>());
        }
    }

    /// <summary>The value of <paramref name="option"/> when it was typed, else null: the library's default stands, and another head's setting is not given.</summary>
    public static T? IfGiven<T>(ParseResult p, Option<T> option) where T : struct => CommonOptions.Given(p, option) ? p.GetValue(option) : null;

    // The library's field of a head option: each flag is its field in kebab case (CliErrors.FlagOf, the other way).
    private static string Field(Option o) => o.Name[2..].Replace('-', '_');

    /// <summary>Refuses sequence-classification options on a head task (<paramref name="what"/>, e.g. "--task ner"): they would be ignored silently.</summary>
    public static void RefuseClassificationOnly(ParseResult p, string what, IEnumerable<Option> options)
    {
        foreach (var o in options.Where(o => CommonOptions.Given(p, o)))
        {
            throw new BertSharpException($"{o.Name}: not available for {what} (sequence classification only).");
        }
    }

    public IReadOnlyList<string>? LabelList(ParseResult p) => p.GetValue(Labels) is { } l ? TaggedCorpus.ParseLabelList(l) : null;
}
