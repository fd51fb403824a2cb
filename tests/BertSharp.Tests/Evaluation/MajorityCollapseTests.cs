using System.Text;
using BertSharp.Evaluation;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Evaluation;

/// <summary>Trap 2: a fine-tune that predicts one label for everything (MCC 0) used to finish without a word.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class MajorityCollapseTests
{
    private static readonly string[] Labels = ["negative", "positive"];

    [Fact]
    public void One_predicted_label_on_two_true_labels_is_a_collapse_with_the_majority_share()
    {
        // 7 negatives and 3 positives, all predicted negative: accuracy 0.7 is exactly the negatives' share, MCC 0.
        int[] truth = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        var report = MetricsReport.ForClassification(Labels, truth, [.. truth.Select(_ => 0)]);
        Assert.Equal(0.0, report.Get("mcc"));
        var d = MajorityCollapse.Detect(report)!;
        Assert.Equal(new CollapseDiagnosis("negative", 10, 0.7, 2), d);

        // Predicting the minority label everywhere is a collapse too (share 0.3).
        Assert.Equal(0.3, MajorityCollapse.Detect(MetricsReport.ForClassification(Labels, truth, [.. truth.Select(_ => 1)]))!.Share, 12);
    }

    [Fact]
    public void Mixed_predictions_or_one_true_label_are_not_a_collapse()
    {
        Assert.Null(MajorityCollapse.Detect(MetricsReport.ForClassification(Labels, [0, 0, 1, 1], [0, 1, 1, 1])));
        // The data itself holds one label: predicting it everywhere is right, not a collapse.
        Assert.Null(MajorityCollapse.Detect(MetricsReport.ForClassification(Labels, [1, 1, 1], [1, 1, 1])));
        Assert.Null(MajorityCollapse.Detect(MetricsReport.ForRegression([1.0, 2.0], [1.5, 1.5])));
    }

    [Fact]
    public void Warning_names_the_learning_rate_for_the_model_size_and_too_few_steps()
    {
        var d = new CollapseDiagnosis("negative", 872, 0.509, 2);
        // BERT-base's 2e-5 on a 1.5 M-parameter model after 60 steps: both causes.
        var small = MajorityCollapse.Warning(d, 2e-5, 1_500_000, 60, "epoch 1");
        Assert.StartsWith("epoch 1: the model predicts 'negative' for all 872 validation examples (MCC 0; accuracy 0.5090 is just that label's share).", small, StringComparison.Ordinal);
        Assert.Contains("learning_rate 2e-5 is low for a 1.5 M-parameter model (models of this size fine-tune at 1e-4–1e-3", small, StringComparison.Ordinal);
        Assert.Contains("only 60 optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller batch_size)", small, StringComparison.Ordinal);
        // The library names fields, not flags (the CLI renames them: see the finetune test below).
        Assert.DoesNotContain("--", small, StringComparison.Ordinal);

        // 1e-3 on BERT-base (110 M) is far too high; enough steps.
        var large = MajorityCollapse.Warning(d, 1e-3, 110_000_000, 2000, "final model");
        Assert.Contains("learning_rate 1e-3 is high for a 110 M-parameter model (usual: 1e-5–1e-4)", large, StringComparison.Ordinal);
        Assert.DoesNotContain("optimizer step", large, StringComparison.Ordinal);

        // A sensible setting: the generic causes.
        Assert.Contains("Likely causes: the learning rate (try ×3 and ÷3)", MajorityCollapse.Warning(d, 2e-5, 110_000_000, 2000, "x"), StringComparison.Ordinal);
    }

    [Fact]
    public void Finetune_warns_at_the_first_collapsed_epoch_and_in_the_final_report()
    {
        using var tmp = TestPaths.TempDir();
        // Every validation sentence is the same text, so any model predicts one label for all of them: a collapse by construction.
        var eval = tmp.File("same_text.tsv");
        var sb = new StringBuilder("sentence\tlabel\n");
        for (var i = 0; i < 6; i++)
        {
            sb.Append("the film was a film .\t").Append(i % 2).Append('\n');
        }
        File.WriteAllText(eval, sb.ToString());
        var run = CliRunner.Run("finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--eval-data", eval,
            "--output", tmp.File("m"), "--config", "tiny", "--vocab", Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt"),
            "--epochs", "2", "--batch-size", "4", "--max-length", "24", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var warnings = run.StdErr.Split('\n').Where(l => l.StartsWith("warning: ", StringComparison.Ordinal)).ToList();
        var first = Assert.Single(warnings, w => w.StartsWith("warning: epoch 1: the model predicts '", StringComparison.Ordinal));
        var final = Assert.Single(warnings, w => w.StartsWith("warning: final model: the model predicts '", StringComparison.Ordinal));
        // The final model is epoch 2's (no --save-best): collapsed onto epoch 1's label, so epoch 2 is not warned again.
        static string Label(string w) => w.Split('\'')[1];
        Assert.Equal(Label(first), Label(final));
        Assert.DoesNotContain(warnings, w => w.StartsWith("warning: epoch 2:", StringComparison.Ordinal));
        // The tiny preset at the default --lr 2e-5 for 4 steps: both likely causes are named.
        Assert.All(warnings.Where(w => w.Contains("predicts", StringComparison.Ordinal)), w =>
        {
            Assert.Contains("for all 6 validation examples (MCC 0; accuracy 0.5000", w, StringComparison.Ordinal);
            Assert.Contains("--lr 2e-5 is low for a", w, StringComparison.Ordinal);
            Assert.Contains("optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller --batch-size)", w, StringComparison.Ordinal);
        });
    }
}
