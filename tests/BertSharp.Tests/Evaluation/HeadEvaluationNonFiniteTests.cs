using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Tests.Evaluation;

/// <summary>
/// The task heads' evaluation refuses NaN outputs as prediction does: argmax and span search would otherwise turn a
/// diverged or corrupt model into ordinary-looking metrics (every token one tag, every question choice 0).
/// </summary>
public sealed class HeadEvaluationNonFiniteTests
{
    private static T Poisoned<T>(string fixture, string bias) where T : BertPreTrainedModel
    {
        var model = BertPretrained.Load<T>(HfFixture.Dir(fixture));
        using var noGrad = torch.no_grad();
        model.NamedParameters().Single(p => p.Name == bias).Param.fill_(StableScalars.Of(double.NaN));
        return model;
    }

    [Fact]
    public void Tagging_refuses_nan_token_logits()
    {
        using var model = Poisoned<BertForTokenClassification>("token-classification", "classifier.bias");
        var sentence = new TaggedSentence(["a", "b", "c"], ["LABEL_0", "LABEL_1", "LABEL_0"], 1);
        var feature = new TaggedFeature([2, 5, 6, 7, 3], [-100, 0, 1, 0, -100], [1, 2, 3]);
        var e = Assert.Throws<NonFiniteOutputException>(() => HeadEvaluation.Tagging(model, [sentence], [feature],
            ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"], batchSize: 4, padId: 0, torch.CPU));
        Assert.Contains("NaN token logits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multiple_choice_refuses_nan_choice_logits()
    {
        using var model = Poisoned<BertForMultipleChoice>("multiple-choice", "classifier.bias");
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir("multiple-choice"));
        var feature = new ChoiceFeature([tokenizer.Encode("the cat", "sat"), tokenizer.Encode("the cat", "ran")], 1);
        var e = Assert.Throws<NonFiniteOutputException>(() => HeadEvaluation.MultipleChoice(model, [feature], batchSize: 4, tokenizer.PadId, torch.CPU));
        Assert.Contains("NaN choice logits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Question_answering_refuses_nan_span_logits()
    {
        using var model = Poisoned<BertForQuestionAnswering>("question-answering", "qa_outputs.bias");
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir("question-answering"));
        var data = new SquadDataset("dev.json", [new SquadExample("q1", "who sat", "the cat sat on the mat", [])], Version2: true);
        var e = Assert.Throws<NonFiniteOutputException>(() => HeadEvaluation.QuestionAnswering(model, tokenizer, data, maxLength: 32, docStride: 8,
            maxAnswerLength: 5, threshold: 0, batchSize: 4, torch.CPU));
        Assert.Contains("NaN start logits", e.Message, StringComparison.Ordinal);
    }
}
