using System.Globalization;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Commands;

/// <summary>
/// <c>bert evaluate</c> batches as the model's fine-tuning validated (its recorded per_device_eval_batch_size), so that a
/// batch-weighted loss (ner's) is the run's own; 32 evaluated in other batches than the run did.
/// </summary>
public sealed class EvaluateBatchSizeTests
{
    [Fact]
    public void Evaluate_batches_by_the_recorded_eval_batch_size_unless_batch_size_is_given()
    {
        using var tmp = TestPaths.TempDir();
        var model = Directory.CreateDirectory(tmp.File("model")).FullName;
        HfFixture.CopyCase("sequence-classification", model);
        var data = tmp.File("dev.tsv");
        // 20 examples: 3 batches of 8 (8, 8, 4), 1 of 32 and 4 of 5, so the per-batch MCC count tells the size used.
        File.WriteAllLines(data, ["sentence\tlabel", .. Enumerable.Range(0, 20).Select(i => $"a film number {i}\t{i % 3}")]);
        string[] Evaluate(params string[] more)
        {
            var r = CliRunner.Run(["evaluate", "--model", model, "--task", "tsv", "--text-column", "sentence", "--data", data, "--per-batch-mcc", "--output", tmp.File("m.json"), "--device", "cpu", .. more]);
            Assert.True(r.ExitCode == 0, r.StdErr);
            var lines = r.StdOut.Split('\n');
            var at = Array.FindIndex(lines, l => l.StartsWith("MCC per batch of ", StringComparison.Ordinal));
            return [lines[at], .. lines[at + 1].Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture))];
        }

        // No record: 32 as before.
        var none = Evaluate();
        Assert.Equal("MCC per batch of 32:", none[0]);
        Assert.Equal(1, none.Length - 1);
        File.WriteAllText(Path.Combine(model, "training_args.json"), """{"per_device_eval_batch_size": 8}""");
        var recorded = Evaluate();
        Assert.Equal("MCC per batch of 8:", recorded[0]);
        Assert.Equal(3, recorded.Length - 1);
        var given = Evaluate("--batch-size", "5");
        Assert.Equal("MCC per batch of 5:", given[0]);
        Assert.Equal(4, given.Length - 1);
    }

    [Fact]
    public void A_recorded_eval_batch_size_below_1_is_refused_naming_the_file()
    {
        using var tmp = TestPaths.TempDir();
        var model = Directory.CreateDirectory(tmp.File("model")).FullName;
        HfFixture.CopyCase("sequence-classification", model);
        File.WriteAllText(Path.Combine(model, "training_args.json"), """{"task": "sst2", "per_device_eval_batch_size": 0}""");
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        CliRunner.Run("evaluate", "--model", model, "--task", "sst2", "--data", data, "--output", tmp.File("m.json"), "--device", "cpu")
            .AssertOneLineError($"error: {Path.Combine(model, "training_args.json")}: per_device_eval_batch_size 0: expected a positive number; give --batch-size to evaluate anyway.");
    }
}
