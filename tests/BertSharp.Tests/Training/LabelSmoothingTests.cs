using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// HF's label_smoothing_factor (<see cref="TrainingOptions.LabelSmoothing"/>): the training tasks' loss on the fixture
/// checkpoints against HF Trainer's LabelSmoother written out here over the heads' logits, its gradient against the
/// formula's derivative, and the refusals where HF's smoother has nothing to smooth.
/// </summary>
public class LabelSmoothingTests
{
    // trainer_pt_utils.LabelSmoother, in doubles: with lp = log_softmax(logits) over the classes and the rows whose label is
    // not -100 active, (1 − ε) · Σ −lp[label] / active + ε · Σ Σ_c −lp[c] / (active · classes).
    private static double HfLabelSmoother(float[] logits, long[] labels, int classes, double epsilon)
    {
        double nll = 0, smooth = 0;
        var active = 0;
        for (var r = 0; r < labels.Length; r++)
        {
            if (labels[r] == -100)
            {
                continue;
            }
            var row = logits.AsSpan(r * classes, classes).ToArray().Select(v => (double)v).ToArray();
            var max = row.Max();
            var logSum = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            nll += logSum - row[labels[r]];
            smooth += row.Sum(v => logSum - v);
            active++;
        }
        return ((1 - epsilon) * nll / active) + (epsilon * smooth / (active * classes));
    }

    // The fixture's batch as the task takes it; token classification's with -100 on some real tokens too, so that the
    // ignored positions are not only padding.
    private static (ClassifierOutput Output, Tensor Labels, Func<double, double> TaskLoss) Case(string caseName, BertPreTrainedModel model)
    {
        var r = HfFixture.Tensors(caseName);
        var input = new BertInput(r["in.input_ids"], r["in.attention_mask"], r["in.token_type_ids"]);
        var labels = r["in.labels"];
        var count = (int)r["in.input_ids"].shape[0];
        var micro = new MicroBatch(1, 0, 1);
        switch (model)
        {
            case BertForSequenceClassification c:
                // Not disposed: it holds the fixture's tensors, which every factor's pass reads again.
                var batch = new TensorBatch(input.InputIds, input.AttentionMask!, input.TokenTypeIds!, labels, [.. Enumerable.Range(0, count)]);
                return (c.Forward(input), labels, e => new ClassificationTask(c, labelSmoothing: e).Loss(batch, micro)!.item<float>());
            case BertForTokenClassification t:
                labels = labels.clone();
                labels[0, 1] = tensor(-100L);
                labels[count - 1, 2] = tensor(-100L);
                return (t.Forward(input), labels, e => HeadTrainingTask.TokenClassification(t, labelSmoothing: e)
                    .Loss(new HeadBatch(input, labels, null, null, count), micro)!.item<float>());
            case BertForMultipleChoice m:
                return (m.Forward(input), labels, e => HeadTrainingTask.MultipleChoice(m, labelSmoothing: e)
                    .Loss(new HeadBatch(input, labels, null, null, count), micro)!.item<float>());
            default:
                throw new ArgumentException(model.GetType().Name);
        }
    }

    [Theory]
    [InlineData("sequence-classification")]
    [InlineData("token-classification")]
    [InlineData("multiple-choice")]
    public void Each_heads_training_loss_is_hfs_label_smoother_over_its_logits(string caseName)
    {
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out _);
        model.eval();
        var (output, labels, taskLoss) = Case(caseName, model);
        var classes = (int)output.Logits.shape[^1];
        var logits = output.Logits.to(float32).data<float>().ToArray();
        var flat = labels.reshape(-1).data<long>().ToArray();
        Assert.Contains(-100L, caseName == "token-classification" ? flat : [-100L]);
        foreach (var epsilon in new[] { 0.0, 0.1, 0.3 })
        {
            var expected = HfLabelSmoother(logits, flat, classes, epsilon);
            Assert.Equal(expected, taskLoss(epsilon), 6);
        }
        // The plain cross-entropy is the formula at 0, and smoothing moves it beyond the precision compared above.
        Assert.True(Math.Abs(HfLabelSmoother(logits, flat, classes, 0.3) - HfLabelSmoother(logits, flat, classes, 0)) > 1e-5, "smoothing changed the loss");
    }

    [Fact]
    public void Validation_loss_is_smoothed_as_hfs_evaluation_computes_it()
    {
        // HF's prediction_step takes compute_loss, the smoother included; batches of 3 and 1 weigh by their examples.
        const string caseName = "sequence-classification";
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir(caseName));
        var r = HfFixture.Tensors(caseName);
        var lengths = r["in.attention_mask"].sum(1).data<long>().ToArray();
        var targets = r["in.labels"].data<long>().ToArray();
        var examples = Enumerable.Range(0, lengths.Length).Select(i => new EncodedExample(
            [.. r["in.input_ids"][i].data<long>().Take((int)lengths[i]).Select(v => (int)v)],
            [.. r["in.token_type_ids"][i].data<long>().Take((int)lengths[i]).Select(v => (int)v)], targets[i])).ToList();
        var labels = LabelMap.FromConfig(model.Config.Id2Label, model.Config.NumLabels, model.Config.ProblemType);
        var batch = examples.Count - 1;
        var plain = ClassifierEvaluation.Evaluate(model, labels, examples, batch, padId: 0, CPU);
        var smoothed = ClassifierEvaluation.Evaluate(model, labels, examples, batch, padId: 0, CPU, labelSmoothing: 0.2);
        var classes = model.Config.NumLabels;
        var order = Batching.PlanByLength([.. examples.Select(e => e.Length)], batch);
        double Expected(double epsilon) => order.Sum(b => b.Length * HfLabelSmoother([.. b.SelectMany(i => smoothed.Logits[i])], [.. b.Select(i => targets[i])], classes, epsilon))
            / examples.Count;
        Assert.Equal(2, order.Count);
        Assert.Equal(Expected(0), plain.Report.Values["loss"], 6);
        Assert.Equal(Expected(0.2), smoothed.Report.Values["loss"], 6);
        Assert.True(Math.Abs(Expected(0.2) - Expected(0)) > 1e-5, "smoothing changed the loss");
    }

    [Fact]
    public void Ner_validation_loss_is_smoothed_over_the_labelled_tokens()
    {
        // One batch: whatever the weighting of batches, the loss is HF's smoother over its labelled tokens.
        const string caseName = "token-classification";
        using var model = BertPretrained.Load<BertForTokenClassification>(HfFixture.Dir(caseName));
        var r = HfFixture.Tensors(caseName);
        var ids = r["in.input_ids"];
        var lengths = r["in.attention_mask"].sum(1).data<long>().ToArray();
        var tags = model.Config.Id2Label.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList();
        var features = new List<TaggedFeature>();
        var sentences = new List<TaggedSentence>();
        for (var i = 0; i < lengths.Length; i++)
        {
            long[] labels = [.. r["in.labels"][i].data<long>().Take((int)lengths[i])];
            labels[1] = -100;
            int[] starts = [.. Enumerable.Range(0, labels.Length).Where(t => labels[t] != -100)];
            features.Add(new TaggedFeature([.. ids[i].data<long>().Take((int)lengths[i]).Select(v => (int)v)], labels, starts));
            sentences.Add(new TaggedSentence([.. starts.Select(t => "w" + t.ToString(System.Globalization.CultureInfo.InvariantCulture))], [.. starts.Select(t => tags[(int)labels[t]])], i + 1));
        }
        var all = Enumerable.Range(0, features.Count).ToArray();
        var batch = HeadCollate.Tagged(features, all, padId: 0);
        var logits = model.Forward(batch.Input).Logits.data<float>().ToArray();
        var flat = batch.Labels!.reshape(-1).data<long>().ToArray();
        foreach (var epsilon in new[] { 0.0, 0.2 })
        {
            var e = HeadEvaluation.Tagging(model, sentences, features, tags, features.Count, padId: 0, CPU, labelSmoothing: epsilon);
            Assert.Equal(HfLabelSmoother(logits, flat, tags.Count, epsilon), e.Loss, 6);
        }
        Assert.True(Math.Abs(HfLabelSmoother(logits, flat, tags.Count, 0.2) - HfLabelSmoother(logits, flat, tags.Count, 0)) > 1e-5, "smoothing changed the loss");
    }

    [Fact]
    public void Smoothed_gradient_is_the_derivative_of_hfs_formula()
    {
        // d/dz_c of the smoother over one active row: ((1 − ε) (p_c − [c = label]) + ε (p_c − 1/C)) / active; 0 on ignored rows.
        const double epsilon = 0.2;
        const int classes = 3;
        float[] values = [0.5f, -1f, 2f, 0.1f, 0.2f, 0.3f, 3f, 0f, -2f];
        long[] targets = [2, -100, 0];
        using var logits = tensor(values).reshape(3, classes).requires_grad_();
        using var labels = tensor(targets);
        using var loss = Losses.CrossEntropy(logits, labels, labelSmoothing: epsilon);
        loss.backward();
        var grad = logits.grad!.data<float>().ToArray();
        const int active = 2;
        for (var r = 0; r < 3; r++)
        {
            var row = values[(r * classes)..((r + 1) * classes)].Select(v => (double)v).ToArray();
            var sum = row.Sum(Math.Exp);
            for (var c = 0; c < classes; c++)
            {
                var p = Math.Exp(row[c]) / sum;
                var expected = targets[r] == -100 ? 0 : (((1 - epsilon) * (p - (c == targets[r] ? 1 : 0))) + (epsilon * (p - (1.0 / classes)))) / active;
                Assert.Equal(expected, grad[(r * classes) + c], 6);
            }
        }
        Assert.Equal(HfLabelSmoother(values, targets, classes, epsilon), loss.item<float>(), 6);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Out_of_range_factors_are_refused_naming_the_field(double epsilon)
    {
        var options = TinySst2Run.Options("unused", t => t with { LabelSmoothing = epsilon });
        var e = Assert.Throws<BertSharpException>(options.Validate);
        Assert.Contains("label_smoothing_factor", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected a number in [0, 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Squad_refuses_smoothing_which_hfs_trainer_would_leave_unapplied()
    {
        var options = new HeadFineTuneOptions
        {
            Task = HeadTask.QuestionAnswering,
            Training = new TrainingOptions { DataPath = "train.json", OutputDir = "unused", ModelDir = "m", LabelSmoothing = 0.1 },
        };
        var e = Assert.Throws<BertSharpException>(options.Validate);
        Assert.Contains("label_smoothing_factor", e.Message, StringComparison.Ordinal);
        Assert.Contains("squad trains on answer start and end positions", e.Message, StringComparison.Ordinal);
        // The same settings without smoothing pass this check (whatever fails later is about the missing files).
        var plain = options with { Training = options.Training with { LabelSmoothing = 0 } };
        var other = Record.Exception(plain.Validate);
        Assert.DoesNotContain("label_smoothing_factor", other?.Message ?? "", StringComparison.Ordinal);
    }
}

/// <summary>
/// A tiny seeded fine-tuning with label smoothing: recorded as HF's label_smoothing_factor, shown in the model card, kept by
/// a resume (another factor, or none, refused), and refused for regression before anything is written.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class LabelSmoothingRunTests
{
    [Fact]
    public void A_smoothed_run_records_the_factor_shows_it_in_the_card_and_resumes_only_with_it()
    {
        using var tmp = TestPaths.TempDir();
        FineTuneOptions Run(Func<TrainingOptions, TrainingOptions> change) =>
            TinySst2Run.Options(tmp.File("smooth"), t => change(t with { Epochs = 1, LabelSmoothing = 0.1 })) with { SaveBest = null };
        var first = FineTuner.Run(Run(t => t with { StopAfter = 1 }));
        Assert.False(first.Completed);
        Assert.Equal(0.1, (double)TrainerState.Load(Path.Combine(first.Checkpoint!, TrainerState.FileName)).Settings["label_smoothing_factor"]!);
        foreach (var other in new[] { 0.2, 0.0 })
        {
            var refused = Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() => FineTuner.Run(Run(t => t with { Resume = true, LabelSmoothing = other }))));
            Assert.Contains("cannot resume", refused, StringComparison.Ordinal);
            Assert.Contains("--label-smoothing", refused, StringComparison.Ordinal);
        }
        var rest = FineTuner.Run(Run(t => t with { Resume = true }));
        Assert.True(rest.Completed);
        Assert.Equal(0.1, (double)JsonNode.Parse(File.ReadAllText(tmp.File("smooth/training_args.json")))!["label_smoothing_factor"]!);
        var card = File.ReadAllText(tmp.File("smooth/README.md"));
        Assert.Contains("\n- num_epochs: 1\n- label_smoothing_factor: 0.1\n", card, StringComparison.Ordinal);
        // A run without smoothing records no factor and its card lists none, as HF's when the factor is 0.
        var plain = FineTuner.Run(TinySst2Run.Options(tmp.File("plain"), t => t with { Epochs = 1 }) with { SaveBest = null });
        Assert.Null(JsonNode.Parse(File.ReadAllText(tmp.File("plain/training_args.json")))!["label_smoothing_factor"]);
        Assert.DoesNotContain("label_smoothing_factor", File.ReadAllText(tmp.File("plain/README.md")), StringComparison.Ordinal);
        // The smoothed run's first step trained on another loss than the plain one's from the same weights and batch.
        Assert.NotEqual(plain.StepLosses[0], first.StepLosses[0]);
    }

    [Fact]
    public void Regression_refuses_smoothing_before_writing_anything()
    {
        using var tmp = TestPaths.TempDir();
        var options = new FineTuneOptions
        {
            Task = TaskSpec.Get("tsv", textColumn: "text", labelColumn: "score", regression: true),
            Training = new TrainingOptions
            {
                DataPath = Path.Combine(TestPaths.Fixtures, "data", "regression.tsv"), OutputDir = tmp.File("out"), ConfigPreset = "tiny",
                VocabPath = TinySst2Run.Vocab, Epochs = 1, BatchSize = 2, Device = "cpu", LabelSmoothing = 0.1,
            },
            ValSize = 1,
        };
        var e = Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() => FineTuner.Run(options)));
        Assert.Contains("--label-smoothing 0.1: smooths a cross-entropy over class labels; tsv regresses a number (MSE)", e, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
    }
}
