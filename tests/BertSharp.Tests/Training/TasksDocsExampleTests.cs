using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Training;

/// <summary>
/// The worked examples of docs/tasks.md (and the README's copy of them) run as written on the bundled samples and
/// models/bertsharp-tiny — with one epoch instead of ten, to stay fast; what they print is not asserted beyond success.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public partial class TasksDocsExampleTests
{
    /// <summary>The <c>./bert …</c> commands of a Markdown file's bash blocks, continuation lines joined.</summary>
    private static List<string> Commands(string markdown)
    {
        var commands = new List<string>();
        var inBlock = false;
        var current = new StringBuilder();
        foreach (var raw in File.ReadLines(markdown))
        {
            if (raw.StartsWith("```", StringComparison.Ordinal))
            {
                inBlock = raw.StartsWith("```bash", StringComparison.Ordinal);
                continue;
            }
            if (!inBlock)
            {
                continue;
            }
            var line = Regex.Replace(raw, @"\s+#.*$", "").Trim();
            if (current.Length == 0 && !line.StartsWith("./bert ", StringComparison.Ordinal))
            {
                continue;
            }
            current.Append(line.TrimEnd('\\')).Append(' ');
            if (!line.EndsWith('\\'))
            {
                commands.Add(current.ToString().Trim());
                current.Clear();
            }
        }
        return commands;
    }

    internal static string[] Split(string command) =>
        [.. Words().Matches(command).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)];

    [GeneratedRegex("\"([^\"]*)\"|(\\S+)")]
    private static partial Regex Words();

    [Theory]
    [InlineData("docs/tasks.md", 11)]
    [InlineData("README.md", 6)]
    public void Worked_examples_run_on_the_bundled_samples(string file, int expected)
    {
        using var tmp = TestPaths.TempDir();
        var commands = Commands(Path.Combine(TestPaths.RepoRoot, file))
            .Where(c => Regex.IsMatch(c, @"--task (ner|squad|swag)\b") || c.Contains("runs/ner", StringComparison.Ordinal)
                        || c.Contains("runs/qa", StringComparison.Ordinal) || c.Contains("runs/swag", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(expected, commands.Count);
        foreach (var command in commands)
        {
            var args = Split(command).Skip(1).Select(a => a
                .Replace("runs/", tmp.Path + "/", StringComparison.Ordinal)
                .Replace("samples/", Path.Combine(TestPaths.RepoRoot, "samples") + "/", StringComparison.Ordinal)
                .Replace("models/", Path.Combine(TestPaths.RepoRoot, "models") + "/", StringComparison.Ordinal)).ToList();
            var epochs = args.IndexOf("--epochs");
            if (epochs >= 0)
            {
                args[epochs + 1] = "1";
            }
            var r = CliRunner.Run([.. args]);
            Assert.True(r.ExitCode == 0, $"{command}\n{r.StdErr}");
        }
    }
}
