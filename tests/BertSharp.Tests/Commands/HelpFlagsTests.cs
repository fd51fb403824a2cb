using System.CommandLine;
using System.Text.RegularExpressions;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Commands;

/// <summary>
/// What the CLI tells a user names only flags that exist: the --help texts, and the library's messages, whose fields the
/// CLI renders as flags. A pointer to a renamed or removed flag sends the user to an error.
/// </summary>
public sealed partial class HelpFlagsTests
{
    /// <summary>Every help text (of commands and options) with where it is, and every flag name and alias.</summary>
    private static (List<(string Where, string Text)> Texts, HashSet<string> Flags) Walk()
    {
        var texts = new List<(string, string)>();
        var flags = new HashSet<string>(StringComparer.Ordinal);
        void Visit(Command c, string path)
        {
            if (c.Description is { } d)
            {
                texts.Add((path, d));
            }
            foreach (var o in c.Options)
            {
                flags.Add(o.Name);
                flags.UnionWith(o.Aliases);
                if (o.Description is { } od)
                {
                    texts.Add((path + " " + o.Name, od));
                }
            }
            foreach (var s in c.Subcommands)
            {
                Visit(s, path + " " + s.Name);
            }
        }
        Visit(Cli.Program.BuildRoot(), "bert");
        return (texts, flags);
    }

    [Fact]
    public void Every_flag_a_help_text_names_exists()
    {
        var (texts, flags) = Walk();
        var mentions = texts.SelectMany(t => Flag().Matches(t.Text).Select(m => (t.Where, Flag: m.Value))).ToList();
        var unknown = mentions.Where(m => !flags.Contains(m.Flag)).Select(m => $"{m.Where}: {m.Flag}").ToList();
        Assert.True(unknown.Count == 0, string.Join("\n", unknown));
        // 88 on 2026-12-03.
        Assert.True(mentions.Count >= 70, $"{mentions.Count} flags named in help texts: the walk no longer finds them");
    }

    public static TheoryData<string, string[]> OptionsAndTheirValues => new()
    {
        // It ended "(accuracy, f1, mcc, macro_f1, pearson, spearman, loss, ...)", as if cut, and left out five metrics it takes.
        { "bert finetune --save-best", [.. FineTuner.ClassificationMetricNames, .. FineTuner.RegressionMetricNames, .. HeadFineTuner.MetricNames(HeadTask.TokenClassification),
            .. HeadFineTuner.MetricNames(HeadTask.QuestionAnswering), .. HeadFineTuner.MetricNames(HeadTask.MultipleChoice)] },
        // It ended "(gelu, gelu_new, relu, …)" and left out seven activations it takes.
        { "bert convert --hidden-act", [.. BertConfig.SupportedActivations] },
        // Its value's name in the usage column was these classes; the description names them instead.
        { "bert convert --architecture", [.. BertPretrained.Architectures] },
    };

    [Theory]
    [MemberData(nameof(OptionsAndTheirValues))]
    public void Help_names_every_value_the_option_takes(string where, string[] values)
    {
        var text = Walk().Texts.Single(t => t.Where == where).Text;
        Assert.All(values, m => Assert.Matches($@"(?<!\w){m}(?!\w)", text));
        Assert.DoesNotContain("...", text, StringComparison.Ordinal);
        Assert.DoesNotContain("…", text, StringComparison.Ordinal);
    }

    [Theory]
    // It showed "--save-best <save-best>" while its description and docs/finetune.md call the value METRIC.
    [InlineData("finetune", "--save-best", "METRIC", "finetune.md")]
    // It showed the 195 characters of "<BertForMaskedLM|…|BertModel>", which pushed every description past column 190.
    [InlineData("convert", "--architecture", "CLASS", "api.md")]
    [InlineData("inspect", "--architecture", "CLASS", "api.md")]
    // docs/onnx.md showed no usage line naming it.
    [InlineData("export-onnx", "--architecture", "CLASS", "onnx.md")]
    public void Help_calls_the_value_what_the_docs_call_it(string command, string flag, string name, string doc)
    {
        Assert.Contains($"[{flag} {name}]", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", doc)), StringComparison.Ordinal);
        var help = CliRunner.Run(command, "--help");
        Assert.True(help.ExitCode == 0, help.StdErr);
        Assert.Matches($@"\n +{flag} <{name}> ", help.StdOut);
    }

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();

    /// <summary>
    /// The library names options in its messages by field (<c>BertSharpException.Field("batch_size")</c>) and the CLI renders
    /// each as its flag: every field so named has one, or a CLI user would read a name no flag answers to.
    /// </summary>
    [Fact]
    public void Every_field_the_library_names_in_a_message_is_a_flag()
    {
        var obj = $"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}";
        var fields = Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(obj, StringComparison.Ordinal))
            .SelectMany(f => FieldCall().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        // 39 on 2026-12-03.
        Assert.True(fields.Count >= 30, $"{fields.Count} fields found: the scan no longer finds BertSharpException.Field calls");
        var (_, flags) = Walk();
        Assert.All(fields, f => Assert.Contains(Cli.CliErrors.FlagOf(f), flags));
    }

    [GeneratedRegex(@"\bField\(""([a-z_]+)""\)")]
    private static partial Regex FieldCall();
}
