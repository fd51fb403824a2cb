using System.CommandLine;
using BertSharp.Cli.Commands;

namespace BertSharp.Tests.Commands;

/// <summary>
/// An option that several commands share is declared once (Cli/Commands/CommonOptions.cs): its help reads the same on every
/// command that has it, whichever command a user asks.
/// </summary>
public class SharedOptionHelpTests
{
    private static readonly string[] Computing = ["finetune", "evaluate", "predict", "pretrain", "fill-mask", "nsp", "ner", "qa", "embed", "serve"];

    /// <summary>Every visible option named <paramref name="name"/> in the command tree, with its command's path.</summary>
    private static List<(string Command, Option Option)> Options(string name)
    {
        var found = new List<(string, Option)>();
        void Walk(Command c, string path)
        {
            found.AddRange(c.Options.Where(o => o.Name == name && !o.Hidden).Select(o => (path, o)));
            foreach (var sub in c.Subcommands)
            {
                Walk(sub, path.Length == 0 ? sub.Name : path + " " + sub.Name);
            }
        }
        Walk(Cli.Program.BuildRoot(), "");
        return found;
    }

    [Fact]
    public void Device_reads_the_same_on_every_command()
    {
        var devices = Options("--device");
        Assert.Superset(Computing.ToHashSet(), devices.Select(d => d.Command).ToHashSet());
        Assert.All(devices, d => Assert.Equal("auto, cpu, cuda or cuda:N.", d.Option.Description));
    }

    [Fact]
    public void Libtorch_threads_read_the_same_on_every_computing_command()
    {
        const string libtorch = "CPU threads for libtorch (default: libtorch's choice).";
        var threads = Options("--threads");
        Assert.All(Computing, c => Assert.Equal(libtorch, threads.Single(t => t.Command == c).Option.Description));
        // Commands whose --threads are other threads (word counting, ONNX Runtime, ...) say so instead of copying this help.
        Assert.All(threads.Where(t => t.Option.Description!.Contains("libtorch", StringComparison.Ordinal)),
            t => Assert.Equal(libtorch, t.Option.Description));
    }

    [Fact]
    public void Overwrite_reads_the_same_on_every_command_up_to_the_name_of_the_output()
    {
        var overwrite = Options("--overwrite");
        Assert.Superset(new HashSet<string> { "finetune", "pretrain", "pretrain-data", "convert" }, overwrite.Select(o => o.Command).ToHashSet());
        Assert.All(overwrite, o => Assert.Equal(
            $"Write into a non-empty {(o.Command == "convert" ? "OUTPUT" : "--output")} that bert did not write; only bert's own files are replaced, nothing else is removed.",
            o.Option.Description));
    }

    [Fact]
    public void Max_length_of_a_model_command_states_the_one_length_rule()
    {
        var maxLength = Options("--max-length").Where(m => Computing.Contains(m.Command)).ToList();
        Assert.Equal(Computing.Length - 1, maxLength.Count); // pretrain takes its length from its data
        Assert.All(maxLength, m => Assert.StartsWith(CommonOptions.MaxLengthRule, m.Option.Description, StringComparison.Ordinal));
        // One rule for longer inputs each: ner, fill-mask and serve refuse them and qa reads them in windows, which their help
        // used to say after the shared "longer inputs are truncated with a warning".
        var refusing = new HashSet<string> { "ner", "fill-mask", "serve", "qa" };
        Assert.All(maxLength, m => Assert.Equal(!refusing.Contains(m.Command),
            m.Option.Description!.Contains(CommonOptions.TruncatedWithWarning, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("tokenize", "")]
    [InlineData("pretrain-data", "")]
    [InlineData("finetune", "With --config: ")]
    [InlineData("data stats", "With --vocab: ")]
    [InlineData("bench tokenize", "")]
    public void Lowercase_of_a_command_that_reads_a_vocabulary_states_the_lowercase_rule(string command, string when) =>
        Assert.Equal(when + CommonOptions.LowercaseHelp, Options("--lowercase").Single(o => o.Command == command).Option.Description);

    /// <summary>The value type of <paramref name="option"/> on <paramref name="command"/>.</summary>
    private static Type TypeOf(string command, string option) => Options(option).Single(x => x.Command == command).Option.ValueType;

    /// <summary>The value of <paramref name="option"/> on <paramref name="command"/> when the flag is not given.</summary>
    private static T? Default<T>(string command, string option)
    {
        // Options are found by walking one tree: parse with that same tree.
        Command c = Cli.Program.BuildRoot();
        var root = c;
        foreach (var name in command.Split(' '))
        {
            c = c.Subcommands.Single(s => s.Name == name);
        }
        var same = (Option<T>)c.Options.Single(x => x.Name == option && !x.Hidden);
        return root.Parse(command.Split(' ')).GetValue(same);
    }

    [Fact]
    public void Config_of_a_fresh_model_names_both_a_preset_and_a_config_file_where_both_are_taken()
    {
        // bench pretrain-memory builds its model as pretrain does (PretrainingModelSource: a preset or a config.json); its
        // help said "Model size preset." only.
        Assert.All(new[] { "pretrain", "bench pretrain-memory" }, c => Assert.StartsWith(
            "A fresh model: a size preset (tiny, mini, small, medium, base, large) or a config.json file",
            Options("--config").Single(o => o.Command == c).Option.Description, StringComparison.Ordinal));
    }

    [Fact]
    public void Options_several_commands_share_are_declared_once_and_keep_each_commands_meaning()
    {
        // --architecture: one help shape, the classes BertSharp knows.
        var architecture = Options("--architecture");
        Assert.Equal(["convert", "export-onnx", "inspect"], architecture.Select(a => a.Command).Order(StringComparer.Ordinal));
        var classes = string.Join(", ", BertSharp.Modeling.BertPretrained.Architectures);
        Assert.All(architecture, a => Assert.Matches(@"^Model class (to load as|to export as|of the tree) \(default: the config's architectures\[0\].*\): ", a.Option.Description!));
        Assert.All(architecture, a => Assert.EndsWith(": " + classes + ".", a.Option.Description, StringComparison.Ordinal));
        // --vocab as a WordPiece vocab.txt reads the same where it means just that.
        Assert.All(new[] { "pretrain-data", "bench tokenize" }, c =>
            Assert.Equal(CommonOptions.VocabHelp, Options("--vocab").Single(o => o.Command == c).Option.Description));
        // vocab train lower-cases unless told not to, and its help says so (it gave no default).
        Assert.True(Default<bool>("vocab train", "--lowercase"));
        Assert.Contains("true (the default", Options("--lowercase").Single(o => o.Command == "vocab train").Option.Description, StringComparison.Ordinal);
        // --doc-stride: one default; --max-answer-length: qa keeps HF's pipeline default (15), squad training HF run_qa's (30).
        Assert.Equal(BertSharp.Data.QuestionAnsweringWindows.DefaultDocStride, Default<int>("qa", "--doc-stride"));
        Assert.Equal(BertSharp.Data.QuestionAnsweringWindows.DefaultDocStride, Default<int>("finetune", "--doc-stride"));
        // Both say the cap QaWindowing puts on it: a stride over half the context room would not move the windows on.
        Assert.All(Options("--doc-stride"), d => Assert.Contains("at most half of a window's context", d.Option.Description, StringComparison.Ordinal));
        Assert.Equal(BertSharp.Inference.QuestionAnsweringOptions.DefaultMaxAnswerLength, Default<int>("qa", "--max-answer-length"));
        Assert.Equal(BertSharp.Training.HeadFineTuneOptions.DefaultMaxAnswerLength, Default<int>("finetune", "--max-answer-length"));
        // --warmup-steps keeps each trainer's type: pre-training counts steps in long, fine-tuning in int.
        Assert.Equal(typeof(long?), TypeOf("pretrain", "--warmup-steps"));
        Assert.Equal(typeof(int?), TypeOf("finetune", "--warmup-steps"));
        Assert.Equal("Linear warmup over this many optimizer steps (default: 10 % of --steps, unless --warmup-ratio).", Options("--warmup-steps").Single(w => w.Command == "pretrain").Option.Description);
        // --warmup-ratio: one declaration (HF's ceil of steps × ratio), each trainer's default.
        Assert.Equal(["finetune", "pretrain"], Options("--warmup-ratio").Select(w => w.Command).Order(StringComparer.Ordinal));
        Assert.All(Options("--warmup-ratio"), w => Assert.Equal(typeof(double?), TypeOf(w.Command, "--warmup-ratio")));
        Assert.All(Options("--warmup-ratio"), w => Assert.StartsWith("Linear warmup over this fraction of the optimizer steps, ceil(steps × X) as HF's warmup_ratio; not with --warmup-steps (default: ",
            w.Option.Description, StringComparison.Ordinal));
        Assert.Equal("Linear warmup over this many optimizer steps.", Options("--warmup-steps").Single(w => w.Command == "finetune").Option.Description);
        // --text-column of embed / search keeps its default; --task of embed / search is the same option as finetune's.
        Assert.Equal("text", Default<string>("embed", "--text-column"));
        Assert.Equal("text", Default<string>("search", "--text-column"));
        Assert.All(new[] { "embed", "search", "finetune" }, c => Assert.Equal(typeof(string), TypeOf(c, "--task")));
    }
}
