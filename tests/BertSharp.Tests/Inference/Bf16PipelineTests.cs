using static System.FormattableString;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Tests.Inference;

/// <summary>
/// Every pipeline kind run inside a <see cref="MixedPrecision.Bf16"/> scope on the HF fixture models: it returns float32
/// values (a head's logits are bf16 there, and reading them as floats threw), within bf16's precision of the same
/// pipeline's float32 results, and not those results (bf16 ran).
/// </summary>
/// <remarks>
/// The bound on a logit, score or hidden-state value is <see cref="MixedPrecisionTests"/>' 8 u of the output's scale
/// (u = 2^-8, one bf16 rounding; the scale is the largest float32 magnitude, at least 1): the roundings in series within
/// one layer, which LayerNorm keeps from compounding across layers. A probability is a softmax of such logits, and the
/// softmax moves each probability by at most half the largest change of its logits (∂p_i = p_i (∂z_i − Σ p_j ∂z_j), whose
/// size is at most 2 p_i (1 − p_i) max|∂z| ≤ max|∂z| / 2), so probabilities get half the bound of their logits' scale
/// (log-probabilities twice it).
/// "Not the float32 result" asks for a difference above 2^-16 of the scale: float32 runs of the same batches are
/// bitwise repeatable here, and 2^-16 is 256 float32 roundings but 1/256 of one bf16 rounding.
/// </remarks>
public sealed class Bf16PipelineTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private const double UnitRoundoff = 1.0 / 256;

    private static readonly string[] Texts = ["the cat sat on the mat .", "a dog ran in the park and then it slept ."];

    private static T Bf16<T>(Func<T> run)
    {
        using (MixedPrecision.Bf16())
        {
            return run();
        }
    }

    private static double Scale(IEnumerable<double> values) => Math.Max(1.0, values.Max(Math.Abs));

    private static double[] Flat(IEnumerable<float[]> rows) => [.. rows.SelectMany(r => r).Select(v => (double)v)];

    private void AssertBf16(string what, double[] float32, double[] bf16, double scale)
    {
        Assert.Equal(float32.Length, bf16.Length);
        var worst = float32.Zip(bf16, (a, b) => Math.Abs(a - b)).Max();
        log.WriteLine(Invariant($"{what}: worst |diff| {worst / scale / UnitRoundoff:F2} u of scale {scale:G4}"));
        var bound = 8 * UnitRoundoff * scale;
        Assert.True(worst <= bound, Invariant($"{what}: |diff| {worst:E3} above 8u · {scale:G4} = {bound:E3}"));
        Assert.True(worst > scale * Math.Pow(2, -16), Invariant($"{what}: |diff| {worst:E3}: the bf16 scope changed nothing, bf16 did not run"));
    }

    [Fact]
    public void Text_classifier_probabilities()
    {
        using var classifier = TextClassifier.Load(HfFixture.Dir("sequence-classification"), "cpu");
        var inputs = Texts.Select(t => (t, (string?)null)).ToArray();
        var logits = classifier.Logits(inputs, 8, classifier.TruncationSide);
        AssertBf16("logits", Flat(logits), Flat(Bf16(() => classifier.Logits(inputs, 8, classifier.TruncationSide))), Scale(Flat(logits)));
        var p = classifier.Predict(inputs).SelectMany(x => x.Probabilities).ToArray();
        AssertBf16("probabilities", p, [.. Bf16(() => classifier.Predict(inputs)).SelectMany(x => x.Probabilities)], Scale(Flat(logits)) / 2);
    }

    [Fact]
    public void Embeddings()
    {
        using var pipeline = FeatureExtraction.Load(HfFixture.Dir("base-model"), "cpu");
        var options = new FeatureExtractionOptions(Pooling.Mean);
        var e = Flat(pipeline.Embed(Texts, options));
        AssertBf16("mean-pooled embeddings", e, Flat(Bf16(() => pipeline.Embed(Texts, options))), Scale(e));
    }

    [Fact]
    public void Fill_mask_scores()
    {
        using var pipeline = FillMask.Load(HfFixture.Dir("pretraining"), "cpu");
        const string text = "the cat [MASK] on the [MASK] .";
        var vocab = pipeline.Model.Config.VocabSize;
        // Every token ranked, compared by id (a near tie may swap two tokens' places under bf16), as log-probabilities: spread
        // over 512 tokens the probabilities are about 0.002, where bf16's change is too small to tell from float32's.
        static double[] ById(IReadOnlyList<IReadOnlyList<FillMaskPrediction>> r) =>
            [.. r.SelectMany(mask => mask.OrderBy(c => c.TokenId).Select(c => Math.Log(c.Score)))];
        var float32 = ById(pipeline.Predict(text, topK: vocab));
        var bf16 = ById(Bf16(() => pipeline.Predict(text, topK: vocab)));
        var batched = Bf16(() => pipeline.PredictBatch([text], topK: vocab))[0];
        Assert.Equal(bf16, ById(batched));
        // The logits' scale, from the model's float32 forward pass over the whole sequence.
        var ids = pipeline.Tokenizer.EncodeIds(text);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = pipeline.Model.Forward(new BertInput(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))).Logits;
        // log p_i = z_i − logsumexp(z) moves by ∂z_i − Σ p_j ∂z_j, at most twice the largest change of the logits.
        AssertBf16("masked-token log-probabilities", float32, bf16, 2 * Math.Max(1.0, logits.abs().max().item<float>()));
    }

    [Fact]
    public void Next_sentence_logits_and_probabilities()
    {
        using var pipeline = NextSentence.Load(HfFixture.Dir("pretraining"), "cpu");
        var (a, b) = CrossEncoderFixture.Pairs[0];
        var float32 = pipeline.Predict(a, b);
        var bf16 = Bf16(() => pipeline.Predict(a, b));
        var scale = Scale(float32.Logits.Select(v => (double)v));
        AssertBf16("logits", [.. float32.Logits.Select(v => (double)v)], [.. bf16.Logits.Select(v => (double)v)], scale);
        AssertBf16("probabilities", [float32.IsNextProbability, float32.IsRandomProbability], [bf16.IsNextProbability, bf16.IsRandomProbability], scale / 2);
    }

    [Fact]
    public void Token_classification_logits_and_entities()
    {
        using var pipeline = TokenClassification.Load(HfFixture.Dir("token-classification"), "cpu");
        var float32 = Flat(pipeline.Logits(Texts).Logits.SelectMany(t => t));
        AssertBf16("token logits", float32, Flat(Bf16(() => pipeline.Logits(Texts)).Logits.SelectMany(t => t)), Scale(float32));
        // The entities are decoded from those logits: inside the scope they come back too.
        Assert.Equal(Texts.Length, Bf16(() => pipeline.Predict(Texts)).Count);
    }

    [Fact]
    public void Question_answering_logits()
    {
        using var pipeline = QuestionAnswering.Load(HfFixture.Dir("question-answering"), "cpu");
        (string, string)[] inputs = [("where did the cat sit ?", Texts[0]), ("what did the dog do ?", Texts[1])];
        static double[] Logits(IReadOnlyList<QaWindow>[] w) => [.. w.SelectMany(x => x).SelectMany(x => x.StartLogits.Concat(x.EndLogits)).Select(v => (double)v)];
        var float32 = Logits(pipeline.Windows(inputs));
        AssertBf16("start and end logits", float32, Logits(Bf16(() => pipeline.Windows(inputs))), Scale(float32));
        Assert.Equal(inputs.Length, Bf16(() => pipeline.Answer(inputs)).Count);
    }

    [Fact]
    public void Zero_shot_scores()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        string[] labels = ["music", "film", "school"];
        // Label order fixed, so a near tie that swaps two labels under bf16 compares the same label's scores.
        static double[] ByLabel(ZeroShotResult r, string[] labels) => [.. labels.Select(l => r.Scores[r.Labels.ToList().IndexOf(l)])];
        var float32 = ByLabel(zs.Classify(Texts[0], labels), labels);
        var bf16 = ByLabel(Bf16(() => zs.Classify(Texts[0], labels)), labels);
        var logits = Flat(zs.PairLogits([Texts[0]], [.. labels.Select(l => ZeroShotClassifier.Hypothesis(ZeroShotClassifier.DefaultHypothesisTemplate, l))], 8));
        AssertBf16("entailment scores", float32, bf16, Scale(logits) / 2);
    }

    [Fact]
    public void Rerank_scores()
    {
        using var tmp = TestPaths.TempDir();
        using var reranker = CrossEncoder.Load(CrossEncoderFixture.Create(tmp.Path), "cpu");
        var pairs = CrossEncoderFixture.Pairs.Select(p => (p.Text, p.Pair)).ToArray();
        var float32 = reranker.Predict(pairs, rawScores: true).ToArray();
        AssertBf16("raw scores", float32, [.. Bf16(() => reranker.Predict(pairs, rawScores: true))], Scale(float32));
    }

    private static readonly (string Context, IReadOnlyList<string> Candidates)[] Questions =
        [(Texts[0], ["it slept .", "it ran ."]), (Texts[1], ["the park was big .", "the cat sat ."])];

    // The scale of the multiple-choice logits of Questions, from the model's float32 forward pass.
    private static double ChoiceLogitScale(MultipleChoice pipeline)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var pairs = Questions.SelectMany(q => q.Candidates.Select(c => pipeline.Tokenizer.Encode(q.Context, c))).ToArray();
        var input = Batching.Pad(pairs, pipeline.Tokenizer.PadId);
        long[] dims = [Questions.Length, 2, input.InputIds.shape[1]];
        var logits = pipeline.Model.Forward(new BertInput(input.InputIds.view(dims), input.AttentionMask!.view(dims), input.TokenTypeIds!.view(dims))).Logits;
        return Math.Max(1.0, logits.abs().max().item<float>());
    }

    [Fact]
    public void Multiple_choice_probabilities()
    {
        using var pipeline = MultipleChoice.Load(HfFixture.Dir("multiple-choice"), "cpu");
        var float32 = pipeline.Predict(Questions).SelectMany(p => p.Probabilities).ToArray();
        var bf16 = Bf16(() => pipeline.Predict(Questions)).SelectMany(p => p.Probabilities).ToArray();
        AssertBf16("choice probabilities", float32, bf16, ChoiceLogitScale(pipeline) / 2);
    }

    [Fact]
    public void Classifier_evaluation_logits_and_loss()
    {
        using var classifier = TextClassifier.Load(HfFixture.Dir("sequence-classification"), "cpu");
        var examples = classifier.Encode([.. Texts.Select((t, i) => new TextExample(t, null, null, i + 1))], [0, 2]);
        var labels = LabelMap.FromLabels(["LABEL_0", "LABEL_1", "LABEL_2"]);
        EvaluationResult Evaluate() => ClassifierEvaluation.Evaluate(classifier.Model, labels, examples, 8, classifier.Tokenizer.PadId, CPU);
        var float32 = Evaluate();
        var bf16 = Bf16(Evaluate);
        var scale = Scale(Flat(float32.Logits));
        AssertBf16("logits", Flat(float32.Logits), Flat(bf16.Logits), scale);
        // The cross-entropy is a mean of −log p_y: a log-probability's bound, twice its logits'.
        AssertBf16("loss", [float32.Report.Get("loss")], [bf16.Report.Get("loss")], 2 * scale);
    }

    [Fact]
    public void Multiple_choice_evaluation_probabilities_and_loss()
    {
        using var pipeline = MultipleChoice.Load(HfFixture.Dir("multiple-choice"), "cpu");
        ChoiceFeature[] features = [.. Questions.Select((q, i) => new ChoiceFeature([.. q.Candidates.Select(c => pipeline.Tokenizer.Encode(q.Context, c))], i))];
        ChoiceEvaluation Evaluate() => HeadEvaluation.MultipleChoice(pipeline.Model, features, 8, pipeline.Tokenizer.PadId, CPU);
        var float32 = Evaluate();
        var bf16 = Bf16(Evaluate);
        var scale = ChoiceLogitScale(pipeline);
        AssertBf16("choice probabilities", [.. float32.Probabilities.SelectMany(p => p)], [.. bf16.Probabilities.SelectMany(p => p)], scale / 2);
        // The loss is a mean of −log p of the answer: a log-probability's bound, twice its logits'.
        AssertBf16("loss", [float32.Loss], [bf16.Loss], 2 * scale);
    }
}
