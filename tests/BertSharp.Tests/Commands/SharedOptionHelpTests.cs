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
        Assert.All(maxLength, m => Assert.StartsWith(CommonOptions.MaxLengthHelp, m.Option.Description, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("tokenize", "")]
    [InlineData("pretrain-data", "")]
    [InlineData("finetune", "With --config: ")]
    [InlineData("data stats", "With --vocab: ")]
    public void Lowercase_of_a_command_that_reads_a_vocabulary_states_the_lowercase_rule(string command, string when) =>
        Assert.Equal(when + CommonOptions.LowercaseHelp, Options("--lowercase").Single(o => o.Command == command).Option.Description);
}
