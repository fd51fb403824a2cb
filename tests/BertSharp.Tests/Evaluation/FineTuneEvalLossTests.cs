using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using static TorchSharp.torch;

namespace BertSharp.Tests.Evaluation;

/// <summary>
/// Every fine-tuning task's validation loss against HF Trainer's <c>eval_loss</c>: Σ_b n_b · loss_b / Σ_b n_b over the
/// evaluation batches, loss_b the head's own mean for the batch (evaluation_loop repeats it per example, gather_for_metrics
/// cuts the last batch's repeats). The validation sets are batched by length into batches of 2 and 1 examples, so that a
/// mean over the labelled tokens or an unweighted mean of the batches' means would be other numbers.
/// </summary>
public sealed class FineTuneEvalLossTests
{
    // Classifier bias [0, ln 3] under a zeroed weight: every token's p(O) = 1/4, p(B-PER) = 3/4.
    private static readonly double LossO = Math.Log(4), LossPer = Math.Log(4.0 / 3);

    /// <summary>
    /// A tiny two-label model whose classifier ignores its input: logits (0, ln 3) everywhere, so the loss is ln 4 for
    /// label 0 and ln 4/3 for label 1 at every scored position.
    /// </summary>
    private static T FixedLogits<T>() where T : BertPreTrainedModel
    {
        var config = HfTrainStepTests.TinyConfig();
        config.NumLabels = 2;
        var model = BertPretrained.Create<T>(config);
        using (no_grad())
        {
            var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
            p["classifier.weight"].zero_();
            p["classifier.bias"].copy_(tensor(new[] { 0f, (float)Math.Log(3) }));
        }
        return model;
    }

    [Fact]
    public void Token_classification_eval_loss_weights_each_batchs_labelled_token_mean_by_its_sentences()
    {
        using var model = FixedLogits<BertForTokenClassification>();
        // By length 3, 5, 6: batches {0, 1} (3 labelled tokens, one word's second piece ignored) and {2} (4 labelled tokens).
        TaggedSentence[] sentences =
        [
            new(["a"], ["O"], 1),
            new(["b", "c"], ["B-PER", "B-PER"], 3),
            new(["d", "e", "f", "g"], ["O", "O", "O", "O"], 6),
        ];
        TaggedFeature[] features =
        [
            new([2, 5, 3], [-100, 0, -100], [1]),
            new([2, 5, 6, 7, 3], [-100, 1, -100, 1, -100], [1, 3]),
            new([2, 5, 6, 7, 8, 3], [-100, 0, 0, 0, 0, -100], [1, 2, 3, 4]),
        ];

        var e = HeadEvaluation.Tagging(model, sentences, features, ["O", "B-PER"], batchSize: 2, padId: 0, CPU);

        var batch1 = (LossO + (2 * LossPer)) / 3;
        var expected = ((2 * batch1) + LossO) / 3;
        // The mean over the 7 labelled tokens and the unweighted mean of the two batches' means are other numbers.
        Assert.True(Math.Abs(expected - ((5 * LossO) + (2 * LossPer)) / 7) > 0.1 && Math.Abs(expected - ((batch1 + LossO) / 2)) > 0.1);
        Assert.Equal(expected, e.Loss, 1e-5);
        Assert.Equal(expected, e.Values().Single(kv => kv.Key == "loss").Value, 1e-5);
    }

    [Fact]
    public void Token_classification_eval_loss_in_file_order_is_hf_trainers_without_group_by_length()
    {
        using var model = FixedLogits<BertForTokenClassification>();
        // Lengths 3, 6, 4 in file order: HF's SequentialSampler batches {0, 1} (1 B-PER, 4 O) and {2} (1 B-PER, 1 O); by length
        // the batches are {0, 2} (2 B-PER, 1 O) and {1} (4 O).
        TaggedSentence[] sentences =
        [
            new(["a"], ["B-PER"], 1),
            new(["b", "c", "d", "e"], ["O", "O", "O", "O"], 2),
            new(["f", "g"], ["B-PER", "O"], 3),
        ];
        TaggedFeature[] features =
        [
            new([2, 5, 3], [-100, 1, -100], [1]),
            new([2, 5, 6, 7, 8, 3], [-100, 0, 0, 0, 0, -100], [1, 2, 3, 4]),
            new([2, 5, 6, 3], [-100, 1, 0, -100], [1, 2]),
        ];
        var inFileOrder = ((2 * ((LossPer + (4 * LossO)) / 5)) + ((LossPer + LossO) / 2)) / 3;
        var byLength = ((2 * (((2 * LossPer) + LossO) / 3)) + LossO) / 3;
        Assert.True(Math.Abs(inFileOrder - byLength) > 0.1);

        var sequential = HeadEvaluation.Tagging(model, sentences, features, ["O", "B-PER"], batchSize: 2, padId: 0, CPU, groupByLength: false);
        var grouped = HeadEvaluation.Tagging(model, sentences, features, ["O", "B-PER"], batchSize: 2, padId: 0, CPU);

        Assert.Equal(inFileOrder, sequential.Loss, 1e-5);
        Assert.Equal(byLength, grouped.Loss, 1e-5);
    }

    [Fact]
    public void Sequence_classification_and_regression_eval_loss_is_the_mean_of_batch_means_weighted_by_their_examples()
    {
        EncodedExample[] examples = [new([2, 5, 6, 3], [0, 0, 0, 0], 1), new([2, 5, 3], [0, 0, 0], 0), new([2, 7, 8, 9, 3], [0, 0, 0, 0, 0], 1)];
        using (var classifier = FixedLogits<BertForSequenceClassification>())
        {
            // By length: batches {1, 0} (class 0: ln 4, class 1: ln 4/3) and {2} (ln 4/3).
            var run = ClassifierRunner.Run(classifier, examples, batchSize: 2, padId: 0, withLabels: true, CPU);
            var expected = ((2 * ((LossO + LossPer) / 2)) + LossPer) / 3;
            Assert.True(Math.Abs(expected - ((((LossO + LossPer) / 2) + LossPer) / 2)) > 0.05);
            Assert.Equal(expected, run.Loss, 1e-5);
        }

        var config = HfTrainStepTests.TinyConfig();
        config.NumLabels = 1;
        using var regressor = BertPretrained.Create<BertForSequenceClassification>(config);
        using (no_grad())
        {
            var p = regressor.NamedParameters().ToDictionary(x => x.Name, x => x.Param);
            p["classifier.weight"].zero_();
            p["classifier.bias"].fill_(StableScalars.Of(3.0));
        }
        EncodedExample[] scored = [examples[0] with { Target = 1 }, examples[1] with { Target = 5 }, examples[2] with { Target = 0 }];
        // Every prediction is 3: squared errors 4, 4 (batch {1, 0}) and 9 (batch {2}).
        var mse = ClassifierRunner.Run(regressor, scored, batchSize: 2, padId: 0, withLabels: true, CPU).Loss;
        Assert.Equal(((2 * 4.0) + 9) / 3, mse, 1e-5);
    }

    [Fact]
    public void Multiple_choice_eval_loss_is_the_mean_of_batch_means_weighted_by_their_questions()
    {
        using var model = BertPretrained.Load<BertForMultipleChoice>(HfFixture.Dir("multiple-choice"));
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir("multiple-choice"));
        ChoiceFeature[] features =
        [
            new([tokenizer.Encode("the cat sat on the mat", "and slept"), tokenizer.Encode("the cat sat on the mat", "and ran away")], 0),
            new([tokenizer.Encode("a dog", "barked"), tokenizer.Encode("a dog", "sang")], 1),
            new([tokenizer.Encode("the bird flew", "south"), tokenizer.Encode("the bird flew", "into the house")], 1),
        ];

        var e = HeadEvaluation.MultipleChoice(model, features, batchSize: 2, tokenizer.PadId, CPU);

        // Each question's cross-entropy from its own softmax; the batches by length are {1, 2} and {0}.
        var loss = features.Select((f, i) => -Math.Log(e.Probabilities[i][f.Label])).ToArray();
        var expected = ((2 * ((loss[1] + loss[2]) / 2)) + loss[0]) / 3;
        Assert.True(Math.Abs(expected - ((((loss[1] + loss[2]) / 2) + loss[0]) / 2)) > 1e-3);
        Assert.Equal(expected, e.Loss, 1e-5);
    }
}
