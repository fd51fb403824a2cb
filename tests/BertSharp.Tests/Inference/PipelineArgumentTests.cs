using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Inference;

/// <summary>
/// Bad arguments to the pipelines fail as the tokenizer and the model fail on them: one exception naming the argument, not
/// an AggregateException from the tokenizer's parallel batch or a NullReferenceException.
/// </summary>
public sealed class PipelineArgumentTests
{
    [Fact]
    public void Text_classifier_null_text_and_null_inputs_are_argument_null()
    {
        using var classifier = TextClassifier.Load(HfFixture.Dir("sequence-classification"), "cpu");
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => classifier.Predict((string)null!)).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentNullException>(() => classifier.Predict((IReadOnlyList<(string, string?)>)null!)).ParamName);
        var item = Assert.Throws<ArgumentNullException>(() => classifier.Predict([("fine", null), (null!, null)]));
        Assert.StartsWith("batch item 1 has a null text.", item.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Feature_extraction_null_text_names_its_index()
    {
        using var pipe = FeatureExtraction.Load(HfFixture.Dir("base-model"));
        var e = Assert.Throws<ArgumentNullException>(() => pipe.Embed(["a", "b", null!]));
        Assert.Equal("text", e.ParamName);
        Assert.StartsWith("batch item 2 has a null text.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fill_mask_ids_and_a_top_k_outside_the_vocabulary_name_input_ids_and_top_k()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining"), "cpu");
        var ids = pipeline.Tokenizer.EncodeIds("the cat [MASK] .");
        var vocab = pipeline.Model.Config.VocabSize;
        ids[1] = vocab;
        var e = Assert.Throws<BertSharpException>(() => pipeline.PredictIds(ids));
        Assert.Equal($"input_ids: id {vocab} is outside [0, {vocab}) (vocab_size {vocab}).", e.Message);
        // A top_k over the vocabulary was cut to it silently: fewer candidates than asked for.
        e = Assert.Throws<BertSharpException>(() => pipeline.PredictBatch(["the cat [MASK] ."], vocab + 1));
        Assert.Equal($"top_k {vocab + 1}: expected at most the vocabulary size ({vocab}) without targets.", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void Question_answering_max_length_below_the_shortest_window_names_max_length(int maxLength)
    {
        using var pipe = QuestionAnswering.Load(HfFixture.Dir("question-answering"), "cpu");
        var positions = pipe.Model.Config.MaxPositionEmbeddings;
        // -1 read as a question too long: "the question has 1 tokens, which leaves no room for context in a -1-token window".
        var e = Assert.Throws<BertSharpException>(() => pipe.Answer([("who", "a cat sat on the mat")], new QuestionAnsweringOptions(MaxLength: maxLength)));
        Assert.Equal(FormattableString.Invariant(
            $"max_length {maxLength}: expected a window of at least 5 tokens ([CLS] question [SEP] context [SEP]); a longer one than the model's {positions} positions is cut to them."), e.Message);
        // The shortest window holds the one-token question and one context token per window, and answers with one of them.
        var answer = Assert.Single(pipe.Answer([("who", "a cat sat on the mat")], new QuestionAnsweringOptions(MaxLength: 5, DocStride: 0))[0]);
        Assert.Contains(answer.Answer, new[] { "a", "cat", "sat", "on", "the", "mat" });
    }

    [Fact]
    public void Multiple_choice_null_candidates_name_the_question()
    {
        using var pipeline = MultipleChoice.Load(HfFixture.Dir("multiple-choice"), "cpu");
        // Counting the candidates threw a NullReferenceException.
        var e = Assert.Throws<ArgumentException>(() => pipeline.Predict([("a cat sat", ["on a mat", "in a hat"]), ("a dog ran", null!)]));
        Assert.Equal("questions", e.ParamName);
        Assert.StartsWith("questions[1] has null candidates; expected a list of candidate texts.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disposed_pipeline_over_a_model_it_does_not_own_refuses_and_leaves_the_model_usable()
    {
        TorchRuntime.EnsureLoaded();
        var dir = Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining");
        using var owner = FillMask.Load(dir, "cpu");
        var borrowed = new FillMask(owner.Model, owner.Tokenizer, ownsModel: false);
        var expected = borrowed.Predict("the cat [MASK] .");
        borrowed.Dispose();
        borrowed.Dispose();
        // It used to go on answering: only a pipeline that owned its model failed after Dispose (the model's handles were gone).
        Assert.Throws<ObjectDisposedException>(() => borrowed.Predict("the cat [MASK] ."));
        var again = owner.Predict("the cat [MASK] .");
        Assert.Equal(expected.SelectMany(m => m).Select(p => (p.TokenId, p.Score)), again.SelectMany(m => m).Select(p => (p.TokenId, p.Score)));
    }

    [Fact]
    public void A_disposed_model_or_classifier_is_refused_by_its_own_name()
    {
        // Both were refused by TorchSharp with its handle class as the object name ('TorchSharp.torch+nn+Module+HType'),
        // which tells the caller nothing about which of their objects was already disposed.
        TorchRuntime.EnsureLoaded();
        var dir = HfFixture.Dir("sequence-classification");
        var model = BertPretrained.Load<BertForSequenceClassification>(dir);
        using (var scope = torch.NewDisposeScope())
        {
            Assert.Equal([1L, 3L], model.Forward(new BertInput(torch.tensor(new long[] { 2, 5, 3 }).unsqueeze(0))).Logits.shape);
        }
        model.Dispose();
        using (var scope = torch.NewDisposeScope())
        {
            // A head's encoder is disposed with it, and every head's forward pass runs the encoder first.
            var e = Assert.Throws<ObjectDisposedException>(() => model.Forward(new BertInput(torch.tensor(new long[] { 2, 5, 3 }).unsqueeze(0))));
            Assert.Equal(typeof(BertModel).FullName, e.ObjectName);
        }

        var classifier = TextClassifier.Load(dir, "cpu");
        Assert.Equal(3, classifier.Predict("a fine film").Probabilities.Count);
        classifier.Dispose();
        classifier.Dispose();
        var refused = Assert.Throws<ObjectDisposedException>(() => classifier.Predict("a fine film"));
        Assert.Equal(typeof(TextClassifier).FullName, refused.ObjectName);
    }
}
