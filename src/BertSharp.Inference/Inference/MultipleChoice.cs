using System.Text;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Inference;

/// <summary>The model's choice among candidate continuations.</summary>
/// <param name="Choice">Index of the most likely candidate.</param>
/// <param name="Score">Its probability.</param>
/// <param name="Probabilities">Softmax over the candidates, in their order.</param>
public sealed record ChoicePrediction(int Choice, double Score, double[] Probabilities)
{
    // The probabilities as values, not System.Double[]: a prediction is what a user prints.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Choice = {Choice}, Score = {Score}, Probabilities = {RecordText.List(Probabilities)}"));
        return true;
    }
}

/// <summary>
/// Multiple choice with a <see cref="BertForMultipleChoice"/> (SWAG-style): every candidate is encoded as the pair
/// (context, candidate), the model scores them side by side, and the softmax over the candidates ranks them.
/// </summary>
public sealed class MultipleChoice : InferencePipeline<BertForMultipleChoice>
{
    /// <summary>
    /// A pipeline over an already loaded <paramref name="model"/>, on the device the model is on (<see cref="Load"/>
    /// loads a directory).
    /// </summary>
    /// <param name="model">
    /// A multiple-choice model with a trained head; it is switched to evaluation mode, which every other user of it
    /// sees too.
    /// </param>
    /// <param name="tokenizer">
    /// The model's tokenizer; its vocabulary must fit the model's <see cref="BertConfig.VocabSize"/>.
    /// </param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes <paramref name="model"/> as well.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="tokenizer"/> is null.</exception>
    /// <exception cref="BertSharpException">The tokenizer has more tokens than the model has embeddings.</exception>
    public MultipleChoice(BertForMultipleChoice model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>Loads a multiple-choice model directory; a checkpoint without the trained head is refused (<see cref="RequiredWeights"/>).</summary>
    public static MultipleChoice Load(string modelDir, string device = "auto")
    {
        var (model, tokenizer) = LoadChecked(modelDir, device);
        return new MultipleChoice(model, tokenizer, ownsModel: true);
    }

    /// <summary>
    /// How many of <paramref name="questions"/> have a (context, candidate) pair longer than <paramref name="maxLength"/> (null =
    /// the model's trained length), which <see cref="Predict"/> cuts, and the longest pair in tokens, special tokens included.
    /// </summary>
    public (int Truncated, int Longest) CountTruncated(IReadOnlyList<(string Context, IReadOnlyList<string> Candidates)> questions, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(questions);
        var limit = EffectiveMaxLength(maxLength);
        var truncated = 0;
        var longest = 0;
        foreach (var (context, candidates) in questions)
        {
            var n = Tokenizer.CountTokens(context) + candidates.Select(Tokenizer.CountTokens).DefaultIfEmpty(0).Max() + 3;
            longest = Math.Max(longest, n);
            truncated += n > limit ? 1 : 0;
        }
        return (truncated, longest);
    }

    /// <summary>The choice per question: each is a context and its candidates (all questions the same number of candidates).</summary>
    /// <param name="questions">(context, candidates) per question; SWAG's pairs are (sent1, sent2 + " " + ending).</param>
    /// <param name="maxLength">Tokens per pair, longest-first truncation (null = the model's trained length).</param>
    /// <param name="batchSize">Questions per forward pass.</param>
    /// <exception cref="BertSharpException">The candidates are fewer than 2 or differ in number, or the length leaves a text of a pair no token.</exception>
    /// <exception cref="ArgumentException">A question's candidates are null.</exception>
    public IReadOnlyList<ChoicePrediction> Predict(IReadOnlyList<(string Context, IReadOnlyList<string> Candidates)> questions, int? maxLength = null, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(questions);
        if (questions.Count == 0)
        {
            return [];
        }
        for (var i = 0; i < questions.Count; i++)
        {
            if (questions[i].Candidates is null)
            {
                // Counting them below threw a NullReferenceException.
                throw new ArgumentException(Invariant($"questions[{i}] has null candidates; expected a list of candidate texts."), nameof(questions));
            }
        }
        var choices = questions[0].Candidates.Count;
        if (choices < 2 || questions.Any(q => q.Candidates.Count != choices))
        {
            throw new BertSharpException(Invariant($"multiple choice: every question needs the same number of candidates, at least 2 (the first has {choices})."));
        }
        var length = EffectiveMaxLength(maxLength);
        // As for next-sentence pairs: below it every choice was scored as [CLS] [SEP] [SEP], all alike.
        PairLength.Check(length);
        var options = new EncodeOptions { MaxLength = length, Truncation = TruncationStrategy.LongestFirst };
        var encoded = questions.Select(q => q.Candidates.Select(c => Tokenizer.Encode(q.Context, c, options)).ToArray()).ToArray();
        var result = new ChoicePrediction[questions.Count];
        foreach (var batch in Batching.PlanByLength([.. encoded.Select(e => e.Max(c => c.Length))], batchSize))
        {
            var flat = batch.SelectMany(i => encoded[i]).ToArray();
            var logits = Run(() =>
            {
                var input = Batching.Pad(flat, Tokenizer.PadId, Device);
                long[] dims = [batch.Length, choices, input.InputIds.shape[1]];
                var output = Model.Forward(new BertInput(input.InputIds.view(dims), input.AttentionMask!.view(dims), input.TokenTypeIds!.view(dims)));
                return InferenceBatch.ToFloats(output.Logits);
            });
            for (var r = 0; r < batch.Length; r++)
            {
                var p = ScoreMath.Softmax(logits.AsSpan(r * choices, choices));
                var best = Array.IndexOf(p, p.Max());
                result[batch[r]] = new ChoicePrediction(best, p[best], p);
            }
        }
        return result;
    }
}
