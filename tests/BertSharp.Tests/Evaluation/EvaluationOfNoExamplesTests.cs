using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Tests.Evaluation;

/// <summary>
/// An evaluation of no examples is refused by the evaluation's own parameter, before the model runs: the metrics' refusal
/// named theirs (predicted, predictions), which the caller never passed, and multiple choice scored 0 / 0. Tagging's
/// malformed input is refused so too.
/// </summary>
public sealed class EvaluationOfNoExamplesTests
{
    private static void Refused(string parameter, Action evaluation) =>
        Assert.StartsWith("expected at least one prediction", Assert.Throws<ArgumentException>(parameter, evaluation).Message, StringComparison.Ordinal);

    [Fact]
    public void Sequence_classification_names_its_examples()
    {
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"));
        Refused("examples", () => ClassifierEvaluation.Evaluate(model, LabelMap.FromLabels(["negative", "positive"]), [], batchSize: 4, padId: 0, torch.CPU));
    }

    [Fact]
    public void The_task_heads_name_their_own_data()
    {
        using var tagger = BertPretrained.Load<BertForTokenClassification>(HfFixture.Dir("token-classification"));
        Refused("sentences", () => HeadEvaluation.Tagging(tagger, [], [], ["O", "B-PER"], batchSize: 4, padId: 0, torch.CPU));
        // A sentence without its encoding failed after the model ran, with a NullReferenceException on its missing prediction.
        Assert.Throws<ArgumentException>("features", () => HeadEvaluation.Tagging(tagger, [new TaggedSentence(["Paris"], ["B-LOC"], 1)], [],
            ["O", "B-LOC"], batchSize: 4, padId: 0, torch.CPU));
        // These failed with an IndexOutOfRangeException (or ran) after the model: an encoding of another word count, a sentence
        // of another tag count, tags that are not one per output of the model (5 here).
        string[] tags = ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"];
        var sentence = new TaggedSentence(["a", "b", "c"], ["LABEL_0", "LABEL_1", "LABEL_0"], 1);
        var feature = new TaggedFeature([2, 5, 6, 7, 3], [-100, 0, 1, 0, -100], [1, 2, 3]);
        void Malformed(string parameter, TaggedSentence s, TaggedFeature f, string[] labels) =>
            Assert.DoesNotContain('\n', Assert.Throws<ArgumentException>(parameter, () => HeadEvaluation.Tagging(tagger, [s], [f], labels, batchSize: 4, padId: 0, torch.CPU)).Message);
        Malformed("features", sentence, feature with { WordStarts = [1, 2] }, tags);
        Malformed("features", sentence, feature with { WordStarts = [1, 2, 3, 3] }, tags);
        Malformed("sentences", sentence with { Tags = ["LABEL_0"] }, feature, tags);
        Malformed("labels", sentence, feature, ["LABEL_0"]);
        Malformed("labels", sentence, feature, [.. tags, "LABEL_5"]);
        // A tag named "" ran the model and then failed inside seqeval, or scored, when the model never predicted it.
        Assert.Equal("the name of class \"2\" is empty; expected a tag such as O or B-PER (seqeval reads the entities from the tag names). (Parameter 'labels')",
            Assert.Throws<ArgumentException>("labels", () => HeadEvaluation.Tagging(tagger, [sentence], [feature], ["LABEL_0", "LABEL_1", "", "LABEL_3", "LABEL_4"],
                batchSize: 4, padId: 0, torch.CPU)).Message);
        // Two classes of one name ran and were scored as one.
        Assert.Equal("classes \"0\" and \"3\" are both named \"LABEL_0\"; expected each tag once, in id order. (Parameter 'labels')",
            Assert.Throws<ArgumentException>("labels", () => HeadEvaluation.Tagging(tagger, [sentence], [feature], ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_0", "LABEL_4"],
                batchSize: 4, padId: 0, torch.CPU)).Message);
        Malformed("sentences", null!, feature, tags);
        // A sentence without its words or tags failed with a NullReferenceException naming nothing.
        Malformed("sentences", sentence with { Words = null! }, feature, tags);
        Malformed("sentences", sentence with { Tags = null! }, feature, tags);
        // An encoding without word starts failed with a NullReferenceException naming nothing.
        Malformed("features", sentence, feature with { WordStarts = null! }, tags);
        // A missing encoding is refused by the check every encoding passes (that of the batches' collation).
        Assert.StartsWith("encoding 0 is null; expected", Assert.Throws<ArgumentException>("features", () => HeadEvaluation.Tagging(tagger, [sentence], [null!], tags,
            batchSize: 4, padId: 0, torch.CPU)).Message, StringComparison.Ordinal);
        // A word start past the encoding ran past the logits (or read the padding's, or the next row's); a label id outside
        // the model's outputs was refused by the loss, after the model ran, as a BertSharpException naming "labels".
        void OutOfRange(TaggedFeature f) =>
            Assert.DoesNotContain('\n', Assert.Throws<ArgumentOutOfRangeException>("features", () => HeadEvaluation.Tagging(tagger, [sentence], [f], tags, batchSize: 4, padId: 0, torch.CPU)).Message);
        OutOfRange(feature with { WordStarts = [1, 2, 5] });
        OutOfRange(feature with { Labels = [-100, 0, 5, 0, -100] });
        OutOfRange(feature with { Labels = [-100, 0, -1, 0, -100] });
        // Only -1 marks a word cut off (-2 was taken for one), and every word starts after [CLS] (0 scored [CLS]'s logits).
        OutOfRange(feature with { WordStarts = [1, -2, 3] });
        OutOfRange(feature with { WordStarts = [0, 2, 3] });
        // A label more than the tokens spilled into the next row's labels, or past the batch's; refused before the model is
        // touched, so the refused call leaves it in the mode it was in (Tagging puts it in eval mode).
        tagger.train();
        Malformed("features", sentence, feature with { Labels = [.. feature.Labels, 0] }, tags);
        Assert.True(tagger.training);
        using var qa = BertPretrained.Load<BertForQuestionAnswering>(HfFixture.Dir("question-answering"));
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir("question-answering"));
        Refused("data", () => HeadEvaluation.QuestionAnswering(qa, tokenizer, new SquadDataset("dev.json", [], Version2: true), maxLength: 32, docStride: 8,
            maxAnswerLength: 5, threshold: 0, batchSize: 4, torch.CPU));
        using var choice = BertPretrained.Load<BertForMultipleChoice>(HfFixture.Dir("multiple-choice"));
        Refused("features", () => HeadEvaluation.MultipleChoice(choice, [], batchSize: 4, padId: 0, torch.CPU));
        // A null question or choice failed with a NullReferenceException naming nothing while the batches were planned by
        // length, before collation could refuse it.
        var question = new ChoiceFeature([new BertEncoding(3), new BertEncoding(4)], 1);
        // A question of another number of choices was refused only when length grouping put it in the first one's batch
        // (here each question is a batch of its own, so it was scored); one of no choices failed in its length with an
        // InvalidOperationException ("Sequence contains no elements").
        void BadQuestion(string expected, ChoiceFeature bad) => Assert.StartsWith(expected,
            Assert.Throws<ArgumentException>("features", () => HeadEvaluation.MultipleChoice(choice, [question, bad], batchSize: 1, padId: 0, torch.CPU)).Message, StringComparison.Ordinal);
        BadQuestion("question 1 is null; expected", null!);
        BadQuestion("question 1 has a null choice; expected", question with { Choices = [new BertEncoding(3), null!] });
        BadQuestion("question 1 has 3 choices; expected 2, as question 0 has. (Parameter 'features')", question with { Choices = [.. question.Choices, new BertEncoding(2)] });
        BadQuestion("question 1 has no choices; expected at least 2", question with { Choices = [] });
    }
}
