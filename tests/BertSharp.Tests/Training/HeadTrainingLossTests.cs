using BertSharp.Tests.Infrastructure;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// The training loss of the task heads through the one training loop (<see cref="Trainer.Step{TBatch}"/> with a
/// <see cref="HeadTrainingTask"/>) against HF's recorded loss on the fixture checkpoints (dropout 0, so train mode computes
/// what HF's forward did), and their gradients against finite differences on a tiny float64 model.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class HeadTrainingLossTests
{
    private static HeadBatch FixtureBatch(string caseName, Dictionary<string, Tensor> r) => caseName switch
    {
        "question-answering" => new HeadBatch(new BertInput(r["in.input_ids"], r["in.attention_mask"], r["in.token_type_ids"]), null,
            r["in.start_positions"], r["in.end_positions"], (int)r["in.input_ids"].shape[0]),
        _ => new HeadBatch(new BertInput(r["in.input_ids"], r["in.attention_mask"], r["in.token_type_ids"]), r["in.labels"], null, null,
            (int)r["in.input_ids"].shape[0]),
    };

    private static HeadTrainingTask TaskFor(BertPreTrainedModel model) => model switch
    {
        BertForTokenClassification t => HeadTrainingTask.TokenClassification(t),
        BertForQuestionAnswering q => HeadTrainingTask.QuestionAnswering(q),
        BertForMultipleChoice m => HeadTrainingTask.MultipleChoice(m),
        _ => throw new ArgumentException(model.GetType().Name),
    };

    [Theory]
    [InlineData("token-classification")]
    [InlineData("question-answering")]
    [InlineData("multiple-choice")]
    public void Trainer_step_loss_equals_hf_recorded_loss(string caseName)
    {
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out _);
        var refs = HfFixture.Tensors(caseName);
        var batch = FixtureBatch(caseName, refs);
        using var trainer = new Trainer(model, new OptimizerSettings(1e-3, 1e-8, 0.0, 1.0, 0, 1));
        var outcome = trainer.Step([() => batch], TaskFor(model));
        var atol = HfFixture.Atol(caseName, "reference.safetensors", "out.loss");
        HfFixture.AssertClose(refs["out.loss"], tensor(new[] { (float)outcome.Task.Loss }), atol, $"{caseName}/out.loss");
        Assert.Equal(1, outcome.Step);
        Assert.True(outcome.GradNorm > 0, "the step back-propagated a gradient");
    }

    [Fact]
    public void Tagged_collation_rebuilds_the_fixture_batch_and_its_loss()
    {
        // The fixture's rows unpadded into features, collated again: the same ids and -100-padded labels, so the same loss.
        const string caseName = "token-classification";
        using var model = BertPretrained.Load<BertForTokenClassification>(HfFixture.Dir(caseName));
        var r = HfFixture.Tensors(caseName);
        var ids = r["in.input_ids"];
        var lengths = r["in.attention_mask"].sum(1).data<long>().ToArray();
        var features = Enumerable.Range(0, (int)ids.shape[0]).Select(i => new TaggedFeature(
            [.. ids[i].data<long>().Take((int)lengths[i]).Select(v => (int)v)], [.. r["in.labels"][i].data<long>().Take((int)lengths[i])], [])).ToList();
        var batch = HeadCollate.Tagged(features, [.. Enumerable.Range(0, features.Count)], padId: 0);
        Assert.True(ids.equal(batch.Input.InputIds).all().item<bool>());
        Assert.True(r["in.attention_mask"].equal(batch.Input.AttentionMask!).all().item<bool>());
        Assert.True(r["in.labels"].equal(batch.Labels!).all().item<bool>());
        model.train();
        using var loss = HeadTrainingTask.TokenClassification(model).Loss(batch, new MicroBatch(1, 0, 1))!;
        HfFixture.AssertClose(r["out.loss"], loss.reshape(1), HfFixture.Atol(caseName, "reference.safetensors", "out.loss"), "collated loss");
        // A row's labels are copied at its offset: one label too many labelled a padding position, the next row's first token
        // or, past the batch, failed naming nothing; one too few left the row's last token out of the loss.
        foreach (var row in new[] { 0, features.Count - 1 })
        {
            foreach (var labels in new long[][] { [.. features[row].Labels, 0], features[row].Labels[..^1] })
            {
                List<TaggedFeature> bad = [.. features];
                bad[row] = features[row] with { Labels = labels };
                Assert.DoesNotContain('\n', Assert.Throws<ArgumentException>("features", () => HeadCollate.Tagged(bad, [.. Enumerable.Range(0, bad.Count)], padId: 0)).Message);
            }
        }
    }

    [Fact]
    public void Collation_refuses_a_null_encoding_and_a_question_of_another_choice_count()
    {
        // Each failed with a NullReferenceException naming nothing; a question with more choices than the batch's first
        // failed in the tensor's shape (with fewer, the questions' choices were mixed up when the totals matched).
        static string Refused(Action collate, string parameter = "features")
        {
            var message = Assert.Throws<ArgumentException>(parameter, collate).Message;
            Assert.DoesNotContain('\n', message);
            return message;
        }
        var tagged = new TaggedFeature([2, 5, 3], [-100, 1, -100], [1]);
        Assert.StartsWith("encoding 1 is null; expected", Refused(() => HeadCollate.Tagged([tagged, null!], [0, 1], padId: 0)), StringComparison.Ordinal);
        Assert.StartsWith("encoding 1 has null InputIds; expected", Refused(() => HeadCollate.Tagged([tagged, tagged with { InputIds = null! }], [0, 1], padId: 0)), StringComparison.Ordinal);
        Assert.StartsWith("encoding 0 has null Labels; expected", Refused(() => HeadCollate.Tagged([tagged with { Labels = null! }], [0], padId: 0)), StringComparison.Ordinal);

        var window = new QaFeature(0, new BertEncoding(3), 0, 0);
        Assert.StartsWith("window 1 is null; expected", Refused(() => HeadCollate.Windows([window, null!], [0, 1], padId: 0)), StringComparison.Ordinal);
        Assert.StartsWith("window 0 has a null Encoding; expected", Refused(() => HeadCollate.Windows([window with { Encoding = null! }], [0], padId: 0)), StringComparison.Ordinal);

        var question = new ChoiceFeature([new BertEncoding(3), new BertEncoding(4)], 1);
        Assert.StartsWith("question 1 is null; expected", Refused(() => HeadCollate.Choices([question, null!], [0, 1], padId: 0)), StringComparison.Ordinal);
        Assert.StartsWith("question 0 has null Choices; expected", Refused(() => HeadCollate.Choices([question with { Choices = null! }], [0], padId: 0)), StringComparison.Ordinal);
        Assert.StartsWith("question 0 has a null choice; expected", Refused(() => HeadCollate.Choices([question with { Choices = [new BertEncoding(3), null!] }], [0], padId: 0)), StringComparison.Ordinal);
        var three = question with { Choices = [.. question.Choices, new BertEncoding(2)] };
        Assert.Equal("question 2 has 3 choices; expected 2, as question 0 of the batch has. (Parameter 'features')",
            Refused(() => HeadCollate.Choices([question, question, three], [0, 2], padId: 0)));
        // One choice is always the model's choice, at a loss of 0; none built a batch of no row for the question.
        Assert.Equal("question 0 has one choice; expected at least 2 for the model to choose among. (Parameter 'features')",
            Refused(() => HeadCollate.Choices([question with { Choices = [new BertEncoding(3)] }], [0], padId: 0)));
        Assert.StartsWith("question 0 has no choices; expected", Refused(() => HeadCollate.Choices([question with { Choices = [] }], [0], padId: 0)), StringComparison.Ordinal);

        // No index failed at the first row (Choices) or built a batch of no row (the others); one outside features failed
        // with the list's own exception, naming index, or the array's, naming nothing.
        Assert.Equal("indices is empty; expected at least one index into features, [0, 2). (Parameter 'indices')",
            Refused(() => HeadCollate.Choices([question, question], [], padId: 0), "indices"));
        Assert.StartsWith("indices is empty; expected", Refused(() => HeadCollate.Tagged([tagged], [], padId: 0), "indices"), StringComparison.Ordinal);
        Assert.StartsWith("indices is empty; expected", Refused(() => HeadCollate.Windows([window], [], padId: 0), "indices"), StringComparison.Ordinal);
        Assert.Equal("index 1 of indices is 2; expected an index into features, [0, 2). (Parameter 'indices')",
            Refused(() => HeadCollate.Choices(new List<ChoiceFeature> { question, question }, [0, 2], padId: 0), "indices"));
        Assert.StartsWith("index 0 of indices is -1; expected", Refused(() => HeadCollate.Tagged([tagged], [-1], padId: 0), "indices"), StringComparison.Ordinal);
        Assert.StartsWith("index 1 of indices is 1; expected", Refused(() => HeadCollate.Windows(new[] { window }, [0, 1], padId: 0), "indices"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("token-classification")]
    [InlineData("question-answering")]
    [InlineData("multiple-choice")]
    public void Gradients_match_finite_differences(string head)
    {
        // Every temporary of the finite differences (views, indexed elements, losses) belongs to this scope until the test
        // ends: a TorchSharp temporary that nothing references can be finalized by a garbage collection on another thread
        // while libtorch still uses it, and this test, with its thousands of unscoped temporaries, once crashed its test
        // host that way (tests/README.md, "A test host that crashes").
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var config = new BertConfig
        {
            VocabSize = 40, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16, MaxPositionEmbeddings = 16,
            HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, NumLabels = head == "token-classification" ? 3 : 2,
        };
        using var model = head switch
        {
            "token-classification" => (BertPreTrainedModel)BertPretrained.Create<BertForTokenClassification>(config),
            "question-answering" => BertPretrained.Create<BertForQuestionAnswering>(config),
            _ => BertPretrained.Create<BertForMultipleChoice>(config),
        };
        model.to(ScalarType.Float64);
        model.train();
        var task = TaskFor(model);
        var ids = torch.tensor(new long[] { 2, 5, 9, 13, 3, 0, 2, 7, 8, 3, 11, 12 }, [2, 6]);
        var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 }, [2, 6]);
        var types = torch.tensor(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 }, [2, 6]);
        var batch = head switch
        {
            "token-classification" => new HeadBatch(new BertInput(ids, mask, types), torch.tensor(new long[] { -100, 1, 2, 0, -100, -100, -100, 0, 1, 1, 2, -100 }, [2, 6]), null, null, 2),
            "question-answering" => new HeadBatch(new BertInput(ids, mask, types), null, torch.tensor(new long[] { 1, 0 }), torch.tensor(new long[] { 3, 0 }), 2),
            // One question with two choices: [1, 2, 6].
            _ => new HeadBatch(new BertInput(ids.view(1, 2, 6), mask.view(1, 2, 6), types.view(1, 2, 6)), torch.tensor(new long[] { 1 }), null, null, 1),
        };
        double Loss()
        {
            using var noGrad = torch.no_grad();
            using var l = task.Loss(batch, new MicroBatch(1, 0, 1))!;
            return l.item<double>();
        }
        using (var l = task.Loss(batch, new MicroBatch(1, 0, 1))!)
        {
            l.backward();
        }
        var checkedCount = 0;
        // The head, the last layer's attention and the word embeddings: every part of the path from input to loss.
        foreach (var (name, p) in model.NamedParameters().Where(n => n.Name.StartsWith("classifier.weight", StringComparison.Ordinal)
                     || n.Name.StartsWith("qa_outputs.weight", StringComparison.Ordinal) || n.Name.Contains("layer.0.attention.self.query.weight", StringComparison.Ordinal)
                     || n.Name.Contains("word_embeddings", StringComparison.Ordinal)))
        {
            var grad = p.grad!.clone();
            var flat = p.view(-1);
            foreach (var at in new long[] { 0, 5, p.numel() / 2 + 1 })
            {
                var index = (int)Math.Min(at, p.numel() - 1);
                // The word embedding rows of ids 5 and 9 take part; others have no gradient.
                if (name.Contains("word_embeddings", StringComparison.Ordinal))
                {
                    index = (int)(5 * config.HiddenSize + at % config.HiddenSize);
                }
                const double h = 1e-6;
                double original;
                using (torch.no_grad())
                {
                    original = flat[index].item<double>();
                    flat[index] = original + h;
                }
                var plus = Loss();
                using (torch.no_grad())
                {
                    flat[index] = original - h;
                }
                var minus = Loss();
                using (torch.no_grad())
                {
                    flat[index] = original;
                }
                var numeric = (plus - minus) / (2 * h);
                var analytic = grad.view(-1)[index].item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 + (1e-5 * Math.Abs(numeric)), $"{head} {name}[{index}]: autograd {analytic:E6} vs finite difference {numeric:E6}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount >= 9, $"{head}: only {checkedCount} gradient entries checked");
        Assert.True(model.NamedParameters().Where(n => n.Name.StartsWith("classifier", StringComparison.Ordinal) || n.Name.StartsWith("qa_outputs", StringComparison.Ordinal))
            .All(n => n.Param.grad is not null && n.Param.grad.abs().sum().item<double>() > 0), "the head got a gradient");
    }
}
