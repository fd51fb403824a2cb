using System.CommandLine;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The options several commands share, declared once here with their one description and default (<c>--device</c>,
/// <c>--threads</c>, <c>--max-length</c>, <c>--overwrite</c>, <c>--lowercase</c>, <c>--model</c> as option or argument), and
/// hidden aliases that keep older spellings working. A command that means something else by a name (the worker threads of
/// <c>bert vocab train</c>, say) declares its own option with its own description.
/// </summary>
internal static class CommonOptions
{
    /// <summary><c>--device</c> (auto, cpu, cuda, cuda:N).</summary>
    public static Option<string> Device(string fallback = "auto") =>
        new("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => fallback };

    /// <summary>Examples per forward pass of the commands that run a model over many inputs (evaluate, predict, embed, search).</summary>
    public const int DefaultForwardBatchSize = 32;

    /// <summary><c>--model</c>: the model a command reads (or, not required, starts from).</summary>
    public static Option<string?> ModelOption(string description, bool required = true) =>
        new("--model") { Description = description, Required = required };

    /// <summary><c>--endpoint</c>: the Hub a command downloads from or uploads to.</summary>
    public static Option<string?> HubEndpoint() =>
        new("--endpoint") { Description = "Hub base URL (default: $HF_ENDPOINT or https://huggingface.co)." };

    internal const string CacheDir = "--cache-dir";

    /// <summary><c>--cache-dir</c>: the HF cache root a command keeps Hub models in (default: the environment's).</summary>
    public static Option<string?> CacheDirOption() => new(CacheDir)
    {
        Description = "Cache root (default: $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub).",
    };

    /// <summary>
    /// The Hub options of the cache the parsed command uses: its <c>--cache-dir</c> where it has one, read here so that the
    /// command and the naming of its failures (<see cref="HubModelNames"/>) look in the same cache.
    /// </summary>
    public static HubOptions HubCacheOptions(ParseResult p) =>
        new() { CacheDir = p.CommandResult.Command.Options.FirstOrDefault(o => o.Name == CacheDir) is Option<string?> o ? p.GetValue(o) : null };

    /// <summary><c>--batch-size</c> with its command's meaning and default (none: the library's, e.g. the task's).</summary>
    public static Option<T> BatchSize<T>(string description, Func<T>? fallback = null)
    {
        var option = new Option<T>("--batch-size") { Description = description };
        if (fallback is not null)
        {
            option.DefaultValueFactory = _ => fallback();
        }
        return option;
    }

    /// <summary><c>--eval-batch-size</c> of a training command: <paramref name="unit"/> per validation batch, the training batch size unless given.</summary>
    public static Option<int?> EvalBatchSize(string unit) => new("--eval-batch-size")
    {
        HelpName = "N",
        Description = $"{unit} per validation batch (HF's per_device_eval_batch_size, whose default is 8; default here: --batch-size). " +
                      "The validation loss is HF's eval_loss, each batch's mean loss weighted by its size, so where a batch's mean is over tokens (ner, the masked LM) it shifts slightly with N; a --resume may change it.",
    };

    /// <summary><c>--batch-size</c> of a command that runs a model over many inputs: <paramref name="unit"/> per forward pass.</summary>
    public static Option<int> ForwardBatchSize(string unit = "Examples", string extra = "") =>
        BatchSize($"{unit} per forward pass{extra}.", () => DefaultForwardBatchSize);

    /// <summary><c>--top-k</c>: how many results (<paramref name="description"/>) a command prints per input.</summary>
    public static Option<int> TopK(string description, int fallback) => TopK<int>(description, () => fallback);

    /// <summary><c>--top-k</c> without a default: every result unless given (<c>bert rerank</c>).</summary>
    public static Option<int?> TopK(string description) => TopK<int?>(description, null);

    private static Option<T> TopK<T>(string description, Func<T>? fallback)
    {
        var option = new Option<T>("--top-k") { Description = description };
        if (fallback is not null)
        {
            option.DefaultValueFactory = _ => fallback();
        }
        return option;
    }

    /// <summary><c>--seed</c> with its command's meaning and default.</summary>
    public static Option<T> Seed<T>(T fallback, string description) =>
        new("--seed") { Description = description, DefaultValueFactory = _ => fallback };

    /// <summary><c>--threads</c>: libtorch's CPU threads.</summary>
    public static Option<int?> Threads() =>
        new("--threads") { Description = "CPU threads for libtorch (default: libtorch's choice)." };

    /// <summary>The --help text every command shows for its --max-length option: the one rule of <see cref="ModelLength"/>.</summary>
    /// <summary>The part of every <c>--max-length</c> help that states the length rule of <see cref="ModelLength"/>.</summary>
    public const string MaxLengthRule =
        "Maximum tokens per input, [CLS]/[SEP] included (default: the model's trained length, model_max_length in tokenizer_config.json, " +
        "at most max_position_embeddings; ";

    /// <summary>What most commands do with a longer input.</summary>
    public const string TruncatedWithWarning = "longer inputs are truncated with a warning";

    /// <summary>What the embedding commands' <c>--max-length</c> adds: a sentence-transformers model's own length.</summary>
    public const string SentenceTransformersLength = "A sentence-transformers model (modules.json) defaults to its sentence_bert_config.json max_seq_length, as its encode does.";

    /// <summary>
    /// <c>--max-length</c> with the one rule of <see cref="ModelLength"/> as its help; <paramref name="longer"/> says what the
    /// command does with a longer input (refusing it, reading it in windows), so the help never states two rules.
    /// </summary>
    public static Option<int?> MaxLength(string? extra = null, string longer = TruncatedWithWarning) =>
        new("--max-length")
        {
            Description = MaxLengthRule + longer + "; above the trained length a warning says those positions were never trained)." + (extra is null ? "" : " " + extra),
        };

    /// <summary>
    /// <c>--architecture</c>: the model class a command loads, exports or shows a checkpoint as (<paramref name="role"/>, e.g.
    /// "to load as"), with the classes BertSharp knows; <paramref name="defaultText"/> says what is used when it is not given.
    /// </summary>
    public static Option<string?> Architecture(string role, string defaultText = "the config's architectures[0]")
    {
        var option = new Option<string?>("--architecture") { Description = $"Model class {role} (default: {defaultText}): {string.Join(", ", BertPretrained.Architectures)}." };
        // Checked while parsing, so a misspelt class is named by its flag (the library names its field, architecture).
        option.AcceptOnlyFromAmong([.. BertPretrained.Architectures]);
        // Without a name the help shows the accepted classes as the value, a <BertForMaskedLM|…> of 195 characters that pushed
        // every description of the command's help past column 190; the description names them, and docs/api.md says CLASS.
        option.HelpName = "CLASS";
        return option;
    }

    /// <summary>The --help text of <c>--vocab</c> where it is a WordPiece vocab.txt file.</summary>
    public const string VocabHelp = "vocab.txt of the WordPiece vocabulary.";

    /// <summary><c>--vocab</c>: a WordPiece vocab.txt (<paramref name="description"/> when the command says more about it).</summary>
    public static Option<string> Vocab(bool required = false, string description = VocabHelp) =>
        new("--vocab") { Description = description, Required = required };

    /// <summary>
    /// <c>--warmup-steps</c>: linear learning-rate warm-up over this many optimizer steps; <paramref name="defaultText"/> says
    /// what is used when it is not given (null: the command's other warm-up option decides, e.g. --warmup-ratio).
    /// </summary>
    public static Option<T> WarmupSteps<T>(string? defaultText = null) =>
        new("--warmup-steps") { Description = "Linear warmup over this many optimizer steps" + (defaultText is null ? "." : $" (default: {defaultText}).") };

    /// <summary>
    /// <c>--warmup-ratio</c>: warm-up over this fraction of the run's optimizer steps, ceil(steps × X) as HF's warmup_ratio;
    /// refused with <c>--warmup-steps</c>; <paramref name="defaultText"/> says what is used when neither is given.
    /// </summary>
    public static Option<double?> WarmupRatio(string defaultText) => new("--warmup-ratio")
    {
        HelpName = "X",
        Description = $"Linear warmup over this fraction of the optimizer steps, ceil(steps × X) as HF's warmup_ratio; not with --warmup-steps (default: {defaultText}).",
    };

    /// <summary><c>--doc-stride</c> of question answering: context tokens shared by consecutive windows (default <see cref="QuestionAnsweringWindows.DefaultDocStride"/>).</summary>
    public static Option<int> DocStride(string description = "Context tokens shared by consecutive windows (at most half of a window's context, so that each window moves on).") =>
        new("--doc-stride") { Description = description, DefaultValueFactory = _ => QuestionAnsweringWindows.DefaultDocStride };

    /// <summary>
    /// <c>--max-answer-length</c> of question answering, with the default of the library code that decodes: <c>bert qa</c>'s
    /// (HF's pipeline, 15) and SQuAD training evaluation's (HF's run_qa, 30) differ on purpose.
    /// </summary>
    public static Option<int> MaxAnswerLength(int fallback, string description = "Longest answer in tokens.") =>
        new("--max-answer-length") { Description = description, DefaultValueFactory = _ => fallback };

    /// <summary><c>--truncation-side head|tail|head+tail</c>: which word pieces a text longer than the maximum length keeps.</summary>
    public static Option<string?> TruncationSide(string defaultText) =>
        new("--truncation-side")
        {
            Description = "Which word pieces a text longer than --max-length keeps: head (its start), tail (its end) or head+tail " +
                          "(both, as Sun et al. 2019 for long reviews: 128 + 382 of 512, in proportion at other lengths; --head-tokens sets the head). " + defaultText,
        };

    /// <summary><c>--head-tokens N</c> for head+tail truncation.</summary>
    public static Option<int?> HeadTokens() =>
        new("--head-tokens") { Description = "With --truncation-side head+tail: word pieces kept from the start of a cut text (default round(kept × 128 / 510): 128 at 512, 64 at 256)." };

    /// <summary>The side and head tokens given on the command line, or null when neither was given.</summary>
    public static (Tokenization.TruncationSide Side, int? HeadTokens)? Truncation(ParseResult p, Option<string?> side, Option<int?> headTokens)
    {
        var name = p.GetValue(side);
        var head = p.GetValue(headTokens);
        if (name is null && head is null)
        {
            return null;
        }
        var parsed = name is null ? Tokenization.TruncationSide.Head : Tokenization.TruncationSides.Parse(name);
        if (head is { } h && (parsed != Tokenization.TruncationSide.HeadAndTail || h < 0))
        {
            throw new BertSharpException($"--head-tokens {h}: only with --truncation-side head+tail, and at least 0.");
        }
        return (parsed, head);
    }

    /// <summary>--objective mlm|mlm+nsp of pretrain-data and pretrain (null when not given: each command says what it then uses).</summary>
    public static Option<string?> Objective(string description) =>
        new("--objective") { Description = description };

    /// <summary>The parsed --objective, or null when not given.</summary>
    public static Data.Pretraining.PretrainingObjective? Objective(ParseResult p, Option<string?> objective) =>
        p.GetValue(objective) is { } s ? Data.Pretraining.PretrainingObjectives.Parse(s) : null;

    /// <summary>
    /// <c>--overwrite</c> of a command that writes the directory <paramref name="output"/> (the option's or argument's name as
    /// its help shows it).
    /// </summary>
    public static Option<bool> Overwrite(string output = "--output") =>
        new("--overwrite") { Description = $"Write into a non-empty {output} that bert did not write; only bert's own files are replaced, nothing else is removed." };

    /// <summary>The --help text of every --lowercase option: the one rule of <see cref="LowercaseRule"/>.</summary>
    public const string LowercaseHelp =
        "Lower-case (and strip accents): true or false. Default: do_lower_case of the tokenizer's tokenizer_config.json (or tokenizer.json), " +
        "else detected from the vocabulary (uncased when no token has an upper-case letter).";

    /// <summary>
    /// <c>--lowercase</c> of a command that tokenizes with a vocabulary, with <see cref="LowercaseRule"/> as its help;
    /// <paramref name="when"/> names the option that brings the vocabulary when that is not always given (e.g. <c>--config</c>).
    /// </summary>
    public static Option<bool?> Lowercase(string? when = null) =>
        new("--lowercase") { Description = when is null ? LowercaseHelp : $"With {when}: {LowercaseHelp}" };

    /// <summary>
    /// <see cref="LowercaseRule.Resolve"/> for the tokenizer at <paramref name="path"/> with <paramref name="option"/>'s value;
    /// an explicit choice is attributed to the flag (the library names the field).
    /// </summary>
    public static LowercaseDecision ResolveLowercase(string path, ParseResult p, Option<bool?> option)
    {
        var requested = p.GetValue(option);
        var decision = LowercaseRule.Resolve(path, requested);
        return requested is null ? decision : decision with { Source = option.Name };
    }

    /// <summary>
    /// <paramref name="tokenizer"/>, after checking that the vocabulary <c>--vocab <paramref name="path"/></c> has [CLS] and
    /// [SEP], which <paramref name="command"/> adds to every encoding. Checked before the input: the encoder's own refusal
    /// came at the first text (tokenize: as that line's fault), with advice (add_special_tokens false) that no flag follows.
    /// </summary>
    public static BertTokenizer WithClsSep(BertTokenizer tokenizer, string path, string command) =>
        tokenizer.MissingClsSep() is { } missing
            ? throw new BertSharpException($"--vocab {path}: has no {missing}; expected a BERT vocabulary with [CLS] and [SEP], which {command} adds to every encoding.")
            : tokenizer;

    /// <summary>The largest thread count an option accepts (<see cref="ThreadCount"/> says why).</summary>
    public static int MaxThreads => ThreadCount.Max;

    /// <summary>
    /// <paramref name="n"/> when it is a thread count in 1..<see cref="MaxThreads"/> (0..<see cref="MaxThreads"/> where
    /// <paramref name="zeroIsDefault"/>: 0 asks for the library's choice); else the one-line error naming <paramref name="flag"/>,
    /// with <paramref name="note"/> saying what each unit is when the count is of something other than threads.
    /// </summary>
    public static int CheckThreads(int n, string flag = "--threads", bool zeroIsDefault = false, string? note = null) =>
        ThreadCount.Check(n, flag, zeroIsDefault, note);

    /// <summary>Applies <c>--threads</c> when given.</summary>
    public static void ApplyThreads(ParseResult p, Option<int?> threads)
    {
        if (p.GetValue(threads) is not { } n)
        {
            return;
        }
        CheckThreads(n, threads.Name);
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(n);
    }

    /// <summary>A hidden option spelled <paramref name="oldName"/> that stands for <paramref name="main"/> (an older spelling).</summary>
    public static Option<T> HiddenAlias<T>(Option<T> main, string oldName) =>
        new(oldName) { Description = $"Old spelling of {main.Name}.", Hidden = true };

    /// <summary>Whether <paramref name="option"/> was typed (not just defaulted).</summary>
    public static bool Given(ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    /// <summary>The value of <paramref name="main"/>, or of its hidden alias when only that was typed.</summary>
    public static T? Get<T>(ParseResult p, Option<T> main, Option<T> alias)
    {
        if (!Given(p, main) && Given(p, alias))
        {
            return p.GetValue(alias);
        }
        return p.GetValue(main);
    }

    /// <summary>
    /// <c>--model</c> as an option, with the older positional spelling (<c>bert inspect DIR</c>) kept as a hidden argument.
    /// </summary>
    public static (Option<string?> Option, Argument<string?> Positional) ModelOptionOrArgument(string description, string name = "model",
        string option = "--model")
    {
        var named = option == "--model" ? ModelOption(description, required: false) : new Option<string?>(option) { Description = description };
        var positional = new Argument<string?>(name) { Description = description, Arity = ArgumentArity.ZeroOrOne, Hidden = true };
        return (named, positional);
    }

    /// <summary>The value of the option or of its positional spelling; exactly one must be given.</summary>
    public static string Model(ParseResult p, (Option<string?> Option, Argument<string?> Positional) model, string what = "a model directory or Hub id")
    {
        var option = p.GetValue(model.Option);
        var positional = p.GetValue(model.Positional);
        return (option, positional) switch
        {
            ({ } o, null) => o,
            (null, { } a) => a,
            (null, null) => throw new BertSharpException($"{model.Option.Name}: required ({what})."),
            _ => throw new BertSharpException($"{model.Option.Name}: given twice (as {model.Option.Name} and as an argument); give it once."),
        };
    }

    /// <summary>
    /// The model and the output of a command that takes both (<c>convert</c>, <c>export-onnx</c>), each as its option or
    /// positionally: the positional values fill, in order, whichever the options left out, so <c>convert IN OUT</c>,
    /// <c>convert --model IN OUT</c> and <c>convert --model IN --output OUT</c> mean the same.
    /// </summary>
    public static (string Model, string Output) ModelAndOutput(ParseResult p, (Option<string?> Option, Argument<string?> Positional) model,
        (Option<string?> Option, Argument<string?> Positional) output, string outputWhat)
    {
        var positional = new Queue<string>(new[] { p.GetValue(model.Positional), p.GetValue(output.Positional) }.OfType<string>());
        string Take((Option<string?> Option, Argument<string?> Positional) o, string what) =>
            p.GetValue(o.Option) ?? (positional.TryDequeue(out var value) ? value : throw new BertSharpException($"{o.Option.Name}: required ({what})."));
        var result = (Take(model, "a model directory or Hub id"), Take(output, outputWhat));
        if (positional.TryDequeue(out var extra))
        {
            throw new BertSharpException($"{extra}: unexpected argument ({model.Option.Name} and {output.Option.Name} are both given as options).");
        }
        return result;
    }
}
