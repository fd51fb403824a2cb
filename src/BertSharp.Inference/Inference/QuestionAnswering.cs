using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>Options of <see cref="QuestionAnswering"/> (HF pipeline defaults).</summary>
/// <param name="TopK">Answers returned per question.</param>
/// <param name="MaxLength">Tokens per window, question and special tokens included (null = the model's maximum, capped at 384).</param>
/// <param name="DocStride">Tokens of context shared by consecutive windows (capped at half the context room).</param>
/// <param name="MaxAnswerLength">Longest answer, in tokens.</param>
/// <param name="HandleImpossibleAnswer">Also offer the empty answer, scored P(start=[CLS]) × P(end=[CLS]) (the smallest over windows).</param>
/// <param name="BatchSize">Windows per forward pass.</param>
public sealed record QuestionAnsweringOptions(int TopK = 1, int? MaxLength = null, int DocStride = QuestionAnsweringOptions.DefaultDocStride,
    int MaxAnswerLength = QuestionAnsweringOptions.DefaultMaxAnswerLength, bool HandleImpossibleAnswer = false, int BatchSize = 32)
{
    /// <summary>HF's <c>doc_stride</c>.</summary>
    public const int DefaultDocStride = QuestionAnsweringWindows.DefaultDocStride;

    /// <summary>HF's <c>max_answer_len</c>.</summary>
    public const int DefaultMaxAnswerLength = 15;

    /// <summary>HF's <c>max_seq_len</c>: the window when <see cref="MaxLength"/> is null, if the model allows it.</summary>
    public const int DefaultWindow = QuestionAnsweringWindows.DefaultWindow;
}

/// <summary>
/// An answer: the context's text between <see cref="Start"/> and <see cref="End"/> (UTF-16 offsets), the best span's tokens
/// widened to the whole words they fall in, as HF's pipeline answers (<c>align_to_words</c>).
/// </summary>
public sealed record QaAnswer(string Answer, double Score, int Start, int End);

/// <summary>One window of a (question, context) pair and the model's logits on it.</summary>
/// <param name="Encoding">[CLS] question [SEP] context-window [SEP].</param>
/// <param name="StartLogits">[tokens] start logits.</param>
/// <param name="EndLogits">[tokens] end logits.</param>
public sealed record QaWindow(BertEncoding Encoding, float[] StartLogits, float[] EndLogits);

/// <summary>
/// Extractive question answering with a <see cref="BertForQuestionAnswering"/>. Contexts longer than a window are cut into
/// overlapping windows (the question repeated in each); the best spans of all windows compete on HF's score.
/// </summary>
public sealed class QuestionAnswering : InferencePipeline<BertForQuestionAnswering>
{
    // The shortest window: [CLS], one question token, [SEP], one context token, [SEP].
    private const int MinWindow = 5;

    /// <summary>
    /// A pipeline over an already loaded <paramref name="model"/>, on the device the model is on (<see cref="Load"/>
    /// loads a directory).
    /// </summary>
    /// <param name="model">
    /// A question-answering model with a trained <c>qa_outputs</c> head; it is switched to evaluation mode, which every
    /// other user of it sees too.
    /// </param>
    /// <param name="tokenizer">
    /// The model's tokenizer; its vocabulary must fit the model's <see cref="BertConfig.VocabSize"/>.
    /// </param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes <paramref name="model"/> as well.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="tokenizer"/> is null.</exception>
    /// <exception cref="BertSharpException">The tokenizer has more tokens than the model has embeddings.</exception>
    public QuestionAnswering(BertForQuestionAnswering model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>Loads a question-answering model directory; a checkpoint without the trained head is refused (<see cref="RequiredWeights"/>).</summary>
    public static QuestionAnswering Load(string modelDir, string device = "auto")
    {
        var (model, tokenizer) = LoadChecked(modelDir, device);
        return new QuestionAnswering(model, tokenizer, ownsModel: true);
    }

    /// <summary>The best answers per (question, context), best first.</summary>
    /// <exception cref="ArgumentException">A question or context is empty or whitespace.</exception>
    /// <exception cref="BertSharpException">A question or context keeps no word piece (only characters the tokenizer drops).</exception>
    public IReadOnlyList<List<QaAnswer>> Answer(IReadOnlyList<(string Question, string Context)> inputs, QuestionAnsweringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var o = options ?? new QuestionAnsweringOptions();
        // Each option named by its field, which a front end shows as its own name (the CLI's --top-k).
        if (o.TopK < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("top_k")} {o.TopK}: expected at least 1."));
        }
        if (o.MaxAnswerLength < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("max_answer_length")} {o.MaxAnswerLength}: expected at least 1."));
        }
        var windows = Windows(inputs, o);
        var result = new List<QaAnswer>[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            result[i] = Decode(inputs[i].Context, windows[i], o);
        }
        return result;
    }

    /// <summary>
    /// Which of <paramref name="question"/> and <paramref name="context"/> is empty or whitespace ("question", "context"), or
    /// null when both have text: the rule <see cref="Answer"/> enforces, for front ends that check before loading a model.
    /// </summary>
    internal static string? BlankInput(string? question, string? context) =>
        string.IsNullOrWhiteSpace(question) ? "question" : string.IsNullOrWhiteSpace(context) ? "context" : null;

    /// <summary>The windows and their logits per input (padding removed).</summary>
    /// <exception cref="ArgumentException">A question or context is empty or whitespace.</exception>
    /// <exception cref="BertSharpException">A question or context keeps no word piece (only characters the tokenizer drops).</exception>
    public IReadOnlyList<QaWindow>[] Windows(IReadOnlyList<(string Question, string Context)> inputs, QuestionAnsweringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        // A blank question or context has nothing to answer from: an empty answer list would read as "the model found nothing".
        for (var i = 0; i < inputs.Count; i++)
        {
            if (BlankInput(inputs[i].Question, inputs[i].Context) is { } blank)
            {
                throw new ArgumentException(Invariant($"inputs[{i}]: the {blank} is empty or whitespace only; expected text."), nameof(inputs));
            }
            // Past the blank check, a text of only dropped characters gave windows without it: no answer, read as "none found".
            WordPieces.Require(Tokenizer, inputs[i].Question, Invariant($"inputs[{i}] question"));
            WordPieces.Require(Tokenizer, inputs[i].Context, Invariant($"inputs[{i}] context"));
        }
        var o = options ?? new QuestionAnsweringOptions();
        // The tokenizer refused a negative stride as "max_length, padding length and stride must be ≥ 0 (got 64, , -1)".
        if (o.DocStride < 0)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("doc_stride")} {o.DocStride}: expected a number ≥ 0."));
        }
        // QaWindowing read a negative length as a question too long: "no room for context in a -1-token window".
        if (o.MaxLength is < MinWindow)
        {
            throw new BertSharpException(Invariant(
                $"{BertSharpException.Field("max_length")} {o.MaxLength}: expected a window of at least {MinWindow} tokens ([CLS] question [SEP] context [SEP]); a longer one than the model's {Model.Config.MaxPositionEmbeddings} positions is cut to them."));
        }
        var maxLength = EffectiveMaxLength(o.MaxLength ?? Math.Min(QuestionAnsweringOptions.DefaultWindow, ModelMaxLength));
        var all = new List<(int Input, BertEncoding Encoding)>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var (question, context) = inputs[i];
            all.AddRange(QaWindowing.Windows(Tokenizer, question, context, maxLength, o.DocStride).Select(w => (i, w)));
        }
        var logits = new (float[] Start, float[] End)[all.Count];
        foreach (var batch in Batching.PlanByLength([.. all.Select(w => w.Encoding.Length)], o.BatchSize))
        {
            var encodings = batch.Select(b => all[b].Encoding).ToArray();
            var (start, end, width) = Run(() =>
            {
                var output = Model.Forward(Batching.Pad(encodings, Tokenizer.PadId, Device));
                return (InferenceBatch.ToFloats(output.StartLogits), InferenceBatch.ToFloats(output.EndLogits), (int)output.StartLogits.shape[1]);
            });
            for (var r = 0; r < batch.Length; r++)
            {
                var n = encodings[r].Length;
                logits[batch[r]] = (start[(r * width)..((r * width) + n)], end[(r * width)..((r * width) + n)]);
            }
        }
        var result = new List<QaWindow>[inputs.Count];
        for (var k = 0; k < all.Count; k++)
        {
            (result[all[k].Input] ??= []).Add(new QaWindow(all[k].Encoding, logits[k].Start, logits[k].End));
        }
        return result;
    }

    // A window's best spans with their texts, enough of them for top_k distinct texts (or all it has): the three best spans
    // of one word's pieces (lie-lie, lie-##berman, ##berman-##berman) widen to one text, and taking only top_k spans left
    // top_k 3 with one answer. A text in the global top k is among the top k texts of the window where it scores best.
    private static List<(SpanCandidate Span, (int Start, int End) Chars)> DistinctSpans(BertEncoding window, double[] start, double[] end,
        bool[] allowed, QuestionAnsweringOptions o)
    {
        for (var count = o.TopK; ; count = (int)Math.Min(int.MaxValue, 2L * count))
        {
            var spans = AnswerDecoding.BestSpans(start, end, allowed, count, o.MaxAnswerLength);
            var found = spans.Select(span => (span, QaWindowing.WordSpan(window, span.StartToken, span.EndToken))).ToList();
            if (spans.Count < count || found.Select(f => f.Item2).Distinct().Count() >= o.TopK)
            {
                return found;
            }
        }
    }

    private static List<QaAnswer> Decode(string context, IReadOnlyList<QaWindow> windows, QuestionAnsweringOptions o)
    {
        var answers = new Dictionary<(int, int), QaAnswer>();
        var minNull = double.MaxValue;
        foreach (var w in windows)
        {
            var e = w.Encoding;
            var allowed = QaWindowing.AnswerTokens(e);
            var (start, end, nullScore) = AnswerDecoding.Probabilities(w.StartLogits, w.EndLogits, allowed, Array.IndexOf(e.SpecialTokensMask, 1));
            minNull = Math.Min(minNull, nullScore);
            foreach (var (span, (s, t)) in DistinctSpans(e, start, end, allowed, o))
            {
                // Overlapping windows, and spans ending in two pieces of one word, can propose the same text: keep its best score
                // once (HF lists it again, filling top_k with copies).
                if (!answers.TryGetValue((s, t), out var seen) || seen.Score < span.Score)
                {
                    answers[(s, t)] = new QaAnswer(context[s..t], span.Score, s, t);
                }
            }
        }
        var list = answers.Values.ToList();
        if (o.HandleImpossibleAnswer && windows.Count > 0)
        {
            list.Add(new QaAnswer("", minNull, 0, 0));
        }
        return [.. list.OrderByDescending(a => a.Score).Take(o.TopK)];
    }
}
