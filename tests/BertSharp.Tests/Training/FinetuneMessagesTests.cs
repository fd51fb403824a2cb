using System.Text;
using BertSharp.Cli.Commands;
using BertSharp.Evaluation;
using BertSharp.Training;
using Spectre.Console;

namespace BertSharp.Tests.Training;

/// <summary>
/// Where <c>bert finetune</c>'s plan, progress and warnings go: plain lines in the order they happen when stderr is not a
/// terminal, and above the live view, which is drawn once below them, when it is.
/// </summary>
public class FinetuneMessagesTests
{
    // A plan warning as the library words it (options by their field names) and a validation that collapsed to one label.
    private static readonly FineTunePlan Plan = new(8, 4, Epochs: 1, BatchesPerEpoch: 2, TotalSteps: 2, Parameters: 1000, "cpu", ["a", "b"], 6,
        ["6 of 8 inputs are longer than 8 tokens and were truncated to 8 (max_length sets the limit)."]) { Notes = ["max length: 8 tokens"] };

    private static readonly MetricsReport Collapsed = MetricsReport.ForClassification(["a", "b"], [0, 1, 0, 1], [1, 1, 1, 1]);

    private static void Train(IFineTuneProgress progress)
    {
        progress.Started(Plan);
        progress.EpochStarted(1, 2);
        progress.BatchDone(1, 1, 0.7, 100);
        progress.BatchDone(1, 2, 0.6, 100);
        progress.Validating(1);
        progress.EpochEnded(new EpochSummary(1, 0.65, Collapsed, TimeSpan.FromSeconds(3), 100, IsBest: true, Step: 2));
    }

    // What each message says: the plan, its note, its warning (its field named by the flag) and the collapse warning.
    private static string[] InOrder(FinetuneProgressView view) =>
    [
        "fine-tuning 1,000 parameters on cpu: 8 training / 4 validation examples, 1 epoch(s) × 2 batches, 2 optimizer steps; labels: a, b",
        "  max length: 8 tokens",
        "warning: 6 of 8 inputs are longer than 8 tokens and were truncated to 8 (--max-length sets the limit).",
        "warning: " + view.CollapseWarning(Collapsed, 2, "epoch 1"),
    ];

    [Fact]
    public void Without_a_terminal_every_message_is_a_plain_line_in_the_order_it_happened()
    {
        using var rows = new StringWriter();
        using var messages = new StringWriter();
        var view = new FinetuneProgressView("accuracy", regression: false, rows, messages);
        Train(view);
        view.Warn("the final model's validation: said after the run");

        var lines = messages.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        var said = InOrder(view);
        Assert.StartsWith("warning: epoch 1: the model predicts 'b' for all 4", said[3], StringComparison.Ordinal);
        Assert.Equal([.. said[..3], "epoch 1/1: 1/2 batches, loss 0.7000, 100.0 ex/s, ETA 0:00", "epoch 1/1: 2/2 batches, loss 0.6500, 100.0 ex/s, ETA 0:00",
            said[3], "warning: the final model's validation: said after the run"], lines);
        Assert.Equal(2, rows.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length);
    }

    // A run collapsed for many epochs said the same warning after each, burying the table: now once per collapse.
    [Fact]
    public void A_collapse_is_warned_at_its_first_epoch_and_again_only_after_a_recovery_or_onto_another_label()
    {
        var collapsedOntoA = MetricsReport.ForClassification(["a", "b"], [0, 1, 0, 1], [0, 0, 0, 0]);
        var mixed = MetricsReport.ForClassification(["a", "b"], [0, 1, 0, 1], [0, 1, 1, 1]);
        // Epoch by epoch: 'b' three times, an epoch without validation (a rank that does not validate: no news of a
        // recovery), 'b', a recovery, 'b' again, then 'a' twice.
        MetricsReport?[] validations = [Collapsed, Collapsed, Collapsed, null, Collapsed, mixed, Collapsed, collapsedOntoA, collapsedOntoA];
        using var rows = new StringWriter();
        using var messages = new StringWriter();
        var view = new FinetuneProgressView("accuracy", regression: false, rows, messages);
        // A learning rate in the usual range for 1,000 parameters: the only likely cause named is the steps.
        view.Started(Plan with { Epochs = validations.Length, TotalSteps = 2 * validations.Length, LearningRate = 5e-4 });
        for (var e = 1; e <= validations.Length; e++)
        {
            view.EpochEnded(new EpochSummary(e, 0.6, validations[e - 1], TimeSpan.FromSeconds(e), 100, IsBest: true, Step: 2 * e));
        }

        var warnings = messages.ToString().Split(Environment.NewLine).Where(l => l.StartsWith("warning: epoch", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "warning: epoch 1: the model predicts 'b' for all 4 validation examples (MCC 0; accuracy 0.5000 is just that label's share). "
                + "Likely causes: only 2 optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller --batch-size).",
            "warning: epoch 7: the model predicts 'b' for all 4 validation examples (MCC 0; accuracy 0.5000 is just that label's share). "
                + "Likely causes: only 14 optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller --batch-size).",
            "warning: epoch 8: the model predicts 'a' for all 4 validation examples (MCC 0; accuracy 0.5000 is just that label's share). "
                + "Likely causes: only 16 optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller --batch-size).",
        ], warnings);
        // Every epoch still has its row, and the final model, collapsed onto 'a' as the epoch before it, is still warned.
        Assert.Equal(1 + validations.Length, rows.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.StartsWith("final model: the model predicts 'a' for all 4 validation examples", view.FinalWarning(collapsedOntoA, 18), StringComparison.Ordinal);
    }

    // The messages and the live view share stderr, as in bert: a line written to it past the view's console was drawn over
    // at the next refresh, or left a copy of the view above it.
    [Fact]
    public void On_a_terminal_every_message_is_drawn_once_above_the_live_view()
    {
        using var stderr = new StringWriter();
        using var rows = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr), Ansi = AnsiSupport.Yes, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.Yes,
        });
        console.Profile.Width = 400;
        var view = new FinetuneProgressView("accuracy", regression: false, rows, stderr);
        view.Run(console, progress =>
        {
            Train(progress);
            return 0;
        });

        var screen = Terminal(stderr.ToString()).Where(l => l.Length > 0).ToList();
        // Each message whole on its line: no part of a view drawn before it is left beside it ("512)och│ train│").
        Assert.Equal(InOrder(view), screen[..4]);
        // Below them the view, once: the table's top border, its row, and the progress line last.
        Assert.Single(screen, l => l.StartsWith('╭'));
        Assert.StartsWith("╭", screen[4], StringComparison.Ordinal);
        Assert.Single(screen, l => l.StartsWith("│     1│", StringComparison.Ordinal));
        Assert.StartsWith("epoch 1/1 ", screen[^1], StringComparison.Ordinal);
        // Nothing went to stdout's plain table while the view was drawn.
        Assert.Equal("", rows.ToString());
    }

    /// <summary>
    /// The screen a terminal shows for <paramref name="output"/>, line by line: characters overwrite the cursor's cell, and
    /// of the control sequences cursor up (CUU) and the line and display erasures (EL, ED) move or clear; the rest (colours,
    /// cursor visibility) change nothing that is read here.
    /// </summary>
    internal static List<string> Terminal(string output)
    {
        var lines = new List<StringBuilder> { new() };
        int row = 0, col = 0;
        for (var i = 0; i < output.Length; i++)
        {
            var c = output[i];
            if (c == '\u001b' && i + 1 < output.Length && output[i + 1] == '[')
            {
                var end = i + 2;
                while (!char.IsAsciiLetter(output[end]))
                {
                    end++;
                }
                var arg = output[(i + 2)..end];
                switch (output[end])
                {
                    case 'A':
                        row = Math.Max(0, row - (arg.Length == 0 ? 1 : int.Parse(arg, System.Globalization.CultureInfo.InvariantCulture)));
                        break;
                    case 'K':
                        lines[row].Length = arg == "2" ? 0 : Math.Min(lines[row].Length, col);
                        break;
                    case 'J':
                        lines[row].Length = Math.Min(lines[row].Length, col);
                        lines.RemoveRange(row + 1, lines.Count - row - 1);
                        break;
                }
                i = end;
                continue;
            }
            switch (c)
            {
                case '\r':
                    col = 0;
                    continue;
                case '\n':
                    row++;
                    col = 0;
                    while (lines.Count <= row)
                    {
                        lines.Add(new StringBuilder());
                    }
                    continue;
            }
            var line = lines[row];
            if (col >= line.Length)
            {
                line.Append(' ', col - line.Length).Append(c);
            }
            else
            {
                line[col] = c;
            }
            col++;
        }
        return [.. lines.Select(l => l.ToString().TrimEnd())];
    }
}
