using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// reduce_lr_on_plateau watches --save-best's metric in torch's default mode "min", as HF does: with a metric where higher
/// is better the rate falls as the metric improves, so such a run starts with one warning line; none when the mode is given,
/// the metric is a loss, or the schedule is another.
/// </summary>
public class PlateauModeWarningTests
{
    private const string Plateau = "reduce_lr_on_plateau";

    [Theory]
    [InlineData("accuracy")]
    [InlineData("f1")]
    [InlineData("mcc")]
    public void A_metric_where_higher_is_better_in_the_default_mode_warns_in_one_line_naming_the_kwargs_that_fix_it(string metric)
    {
        var warning = ReduceLrOnPlateau.ModeWarning(Plateau, null, metric);
        Assert.Equal(
            $"--lr-scheduler reduce_lr_on_plateau watches --save-best {metric} in torch's default mode \"min\", as HF does, so it lowers the rate when {metric} improves; "
            + $"give --lr-scheduler-kwargs '{{\"mode\":\"max\"}}' to lower it when {metric} stops rising.",
            Cli.CliErrors.Word(warning!));
        // Other kwargs leave the mode at its default.
        Assert.NotNull(ReduceLrOnPlateau.ModeWarning(Plateau, new JsonObject { ["patience"] = 2 }, metric));
    }

    [Theory]
    [InlineData(Plateau, "{\"mode\":\"max\"}", "accuracy")]
    [InlineData(Plateau, "{\"mode\":\"min\"}", "accuracy")]
    [InlineData(Plateau, null, "loss")]
    [InlineData(Plateau, null, "mse")]
    [InlineData(Plateau, null, null)]
    [InlineData("linear", null, "accuracy")]
    public void A_given_mode_a_loss_no_metric_or_another_schedule_gives_no_warning(string type, string? kwargs, string? metric) =>
        Assert.Null(ReduceLrOnPlateau.ModeWarning(type, kwargs is null ? null : (JsonObject)JsonNode.Parse(kwargs)!, metric));

    [Fact]
    public void A_task_head_run_warns_by_its_plan_swag_watching_accuracy_and_not_its_loss()
    {
        using var tmp = TestPaths.TempDir();
        var swag = tmp.File("swag.csv");
        File.WriteAllText(swag, HeadFineTuneEndToEndTests.SwagCsv(4, 1));
        // 4 examples in one batch: one step, one validation.
        List<string> Warnings(string metric)
        {
            var r = CliRunner.Run(["finetune", "--task", "swag", "--data", swag, "--eval-data", swag, "--epochs", "1", "--lr-scheduler", Plateau,
                "--save-best", metric, .. HeadFineTuneEndToEndTests.Common(tmp.File(metric))]);
            Assert.True(r.ExitCode == 0, r.StdErr);
            return [.. r.StdErr.Split('\n').Where(l => l.StartsWith("warning: ", StringComparison.Ordinal))];
        }
        Assert.Equal(
            ["warning: --lr-scheduler reduce_lr_on_plateau watches --save-best accuracy in torch's default mode \"min\", as HF does, so it lowers the rate when accuracy improves; "
                + "give --lr-scheduler-kwargs '{\"mode\":\"max\"}' to lower it when accuracy stops rising."],
            Warnings("accuracy"));
        Assert.Empty(Warnings("loss"));
    }
}
