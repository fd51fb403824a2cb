using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>Named-entity style tagging with a <see cref="BertForTokenClassification"/>; spans are UTF-16 offsets into each text.</summary>
public sealed class TokenClassification : InferencePipeline<BertForTokenClassification>
{
    /// <summary>
    /// A pipeline over an already loaded <paramref name="model"/>, on the device the model is on (<see cref="Load"/>
    /// loads a directory).
    /// </summary>
    /// <param name="model">
    /// A token-classification model with a trained head; its <see cref="BertConfig.Id2Label"/> names the tags; it is
    /// switched to evaluation mode, which every other user of it sees too.
    /// </param>
    /// <param name="tokenizer">
    /// The model's tokenizer; its vocabulary must fit the model's <see cref="BertConfig.VocabSize"/>.
    /// </param>
    /// <param name="ownsModel">Whether disposing the pipeline disposes <paramref name="model"/> as well.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="tokenizer"/> is null.</exception>
    /// <exception cref="BertSharpException">The tokenizer has more tokens than the model has embeddings.</exception>
    public TokenClassification(BertForTokenClassification model, BertTokenizer tokenizer, bool ownsModel = false) : base(model, tokenizer, ownsModel)
    {
    }

    /// <summary>
    /// Loads a token-classification model directory; a checkpoint without the trained head is refused (<see cref="RequiredWeights"/>).
    /// Its <see cref="DefaultAggregation"/> follows how it was fine-tuned (<see cref="DefaultAggregationFor"/>).
    /// </summary>
    public static TokenClassification Load(string modelDir, string device = "auto")
    {
        var (model, tokenizer) = LoadChecked(modelDir, device);
        try
        {
            RequireDistinctTags(model.Config, modelDir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new TokenClassification(model, tokenizer, ownsModel: true) { DefaultAggregation = DefaultAggregationFor(modelDir) };
    }

    /// <summary>
    /// Refuses a model whose config.json id2label names two classes alike: an entity names its class by its tag, so the two
    /// could not be told apart (evaluate refuses them too, as seqeval reads one entity type from both). An empty name
    /// passes, as HF allows it and reading a sequence classifier's config does.
    /// </summary>
    internal static void RequireDistinctTags(BertConfig config, string modelDir)
    {
        if (ClassNames.Fault(LabelsOf(config), unnamedAllowed: true) is { } fault)
        {
            throw new BertSharpException($"{Path.Combine(modelDir, "config.json")}: field 'id2label': {fault.What}; expected each tag once, in id order.");
        }
    }

    /// <summary>
    /// The aggregation <see cref="Predict"/> uses when it is given none: <see cref="AggregationStrategy.Simple"/> (entities, as the
    /// Hub's inference widget asks for them); HF's pipeline itself defaults to <see cref="AggregationStrategy.None"/>.
    /// </summary>
    public AggregationStrategy DefaultAggregation { get; init; } = AggregationStrategy.Simple;

    /// <summary>
    /// <see cref="AggregationStrategy.First"/> for a model <c>bert finetune --task ner</c> trained on first word pieces only
    /// (training_args.json's <c>label_all_tokens</c> false): its other pieces carry no trained label, so averaging or
    /// grouping them splits entities. Otherwise <see cref="AggregationStrategy.Simple"/> (HF's pipeline defaults to <see cref="AggregationStrategy.None"/>).
    /// </summary>
    public static AggregationStrategy DefaultAggregationFor(string modelDir)
    {
        ArgumentNullException.ThrowIfNull(modelDir);
        var args = TrainingArgsFile.ReadModel(modelDir);
        return TrainingArgsFile.String(args, "task") == "ner" && TrainingArgsFile.Bool(args, "label_all_tokens") == false
            ? AggregationStrategy.First
            : AggregationStrategy.Simple;
    }

    /// <summary>The label names, by id.</summary>
    public IReadOnlyList<string> Labels => LabelsOf(Model.Config);

    private static string[] LabelsOf(BertConfig config) =>
        [.. Enumerable.Range(0, config.NumLabels).Select(i => config.Id2Label.TryGetValue(i, out var l) ? l : Invariant($"LABEL_{i}"))];

    /// <summary>
    /// Entities per text, in input order, grouped by <paramref name="aggregation"/> (null: <see cref="DefaultAggregation"/>).
    /// Without <paramref name="stride"/>, texts longer than <paramref name="maxLength"/> tokens are truncated (HF's pipeline
    /// without <c>stride</c>). With it, such a text is tagged in windows of <paramref name="maxLength"/> tokens, each sharing
    /// <paramref name="stride"/> word pieces with the one before (HF's <c>stride</c>, <c>return_overflowing_tokens</c>); the
    /// entities of all windows, spans in the whole text, are merged by <see cref="TokenAggregation.AggregateOverlapping"/>.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// A text keeps no word piece (blank, or only characters the tokenizer drops); <paramref name="stride"/> is negative, not
    /// smaller than the window's room for text (<paramref name="maxLength"/> minus [CLS] and [SEP]) or given with
    /// <see cref="AggregationStrategy.None"/> (HF's pipeline refuses these three too).
    /// </exception>
    public IReadOnlyList<List<TokenEntity>> Predict(IReadOnlyList<string> texts, AggregationStrategy? aggregation = null,
        IReadOnlyCollection<string>? ignoreLabels = null, int? maxLength = null, int batchSize = 32, int? stride = null)
    {
        var strategy = aggregation ?? DefaultAggregation;
        if (stride is { } s)
        {
            CheckStride(s, strategy, EffectiveMaxLength(maxLength));
        }
        var windows = Windows(texts, maxLength, stride, batchSize);
        var result = new List<TokenEntity>[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            result[i] = Entities(texts[i], windows[i], strategy, ignoreLabels);
        }
        return result;
    }

    /// <summary>
    /// Refuses a <paramref name="stride"/> HF's pipeline refuses: negative, with <see cref="AggregationStrategy.None"/>, or
    /// not smaller than the text's room in a <paramref name="maxLength"/>-token window (no window would move on).
    /// </summary>
    internal static void CheckStride(int stride, AggregationStrategy aggregation, int maxLength)
    {
        var field = BertSharpException.Field("stride");
        if (stride < 0)
        {
            throw new BertSharpException(Invariant($"{field} {stride}: expected a number ≥ 0."));
        }
        if (aggregation == AggregationStrategy.None)
        {
            // HF raises here too: per-token entities of overlapping windows would repeat the shared tokens.
            throw new BertSharpException(Invariant(
                $"{field} {stride} cannot be used with {BertSharpException.Field("aggregation")} none (HF's pipeline refuses it too); choose simple, first, average or max."));
        }
        var room = maxLength - 2;
        if (stride >= room)
        {
            throw new BertSharpException(Invariant(
                $"{field} {stride} must be smaller than the {room} tokens a {maxLength}-token window leaves for text ({BertSharpException.Field("max_length")} minus [CLS] and [SEP])."));
        }
    }

    /// <summary>The encodings and raw logits [tokens][num_labels] per text (padding removed).</summary>
    /// <exception cref="BertSharpException">A text keeps no word piece (blank, or only characters the tokenizer drops).</exception>
    public (IReadOnlyList<BertEncoding> Encodings, float[][][] Logits) Logits(IReadOnlyList<string> texts, int? maxLength = null, int batchSize = 32)
    {
        var windows = Windows(texts, maxLength, stride: null, batchSize);
        return ([.. windows.Select(w => w[0].Encoding)], [.. windows.Select(w => w[0].Logits)]);
    }

    /// <summary>
    /// Each text's windows with their raw logits [tokens][num_labels] (padding removed): the truncated text alone without
    /// <paramref name="stride"/>, else the tokenizer's overflowing windows (offsets in the whole text), one forward pass for all.
    /// </summary>
    internal IReadOnlyList<IReadOnlyList<TokenWindow>> Windows(IReadOnlyList<string> texts, int? maxLength, int? stride, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(texts);
        // Such a text was tagged as [CLS] [SEP]: no entity, read as "none found" (as QuestionAnswering and NextSentence refuse it).
        for (var i = 0; i < texts.Count; i++)
        {
            WordPieces.Require(Tokenizer, texts[i], Invariant($"texts[{i}]"));
        }
        var options = new EncodeOptions
        {
            MaxLength = EffectiveMaxLength(maxLength),
            Truncation = TruncationStrategy.LongestFirst,
            ReturnOverflowing = stride is not null,
            Stride = stride ?? 0,
        };
        var perText = Tokenizer.EncodeBatch([.. texts.Select(t => (t, (string?)null))], options)
            .Select(e => (IReadOnlyList<BertEncoding>)[e, .. e.Overflowing]).ToArray();
        var encodings = perText.SelectMany(w => w).ToArray();
        var logits = RunLogits(encodings, batchSize);
        var result = new IReadOnlyList<TokenWindow>[texts.Count];
        var at = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            result[i] = [.. perText[i].Select(e => new TokenWindow(e, logits[at++]))];
        }
        return result;
    }

    /// <summary>
    /// The entities of one text from its <paramref name="windows"/>: each window aggregated and filtered on its own, then,
    /// for more than one, overlapping entities merged (HF's <c>postprocess</c> over chunks).
    /// </summary>
    internal List<TokenEntity> Entities(string text, IReadOnlyList<TokenWindow> windows, AggregationStrategy aggregation, IReadOnlyCollection<string>? ignoreLabels)
    {
        var labels = Labels;
        var entities = windows.SelectMany(w => TokenAggregation.Aggregate(Scores(text, w.Encoding, w.Logits), labels, aggregation, ignoreLabels, Tokenizer.DecoderCleanup)).ToList();
        return windows.Count > 1 ? TokenAggregation.AggregateOverlapping(entities) : entities;
    }

    private float[][][] RunLogits(IReadOnlyList<BertEncoding> encodings, int batchSize)
    {
        var numLabels = Model.Config.NumLabels;
        var logits = new float[encodings.Count][][];
        foreach (var batch in Batching.PlanByLength([.. encodings.Select(e => e.Length)], batchSize))
        {
            var batchEncodings = batch.Select(i => encodings[i]).ToArray();
            var (flat, width) = Run(() =>
            {
                var output = Model.Forward(Batching.Pad(batchEncodings, Tokenizer.PadId, Device));
                return (InferenceBatch.ToFloats(output.Logits), (int)output.Logits.shape[1]);
            });
            for (var r = 0; r < batch.Length; r++)
            {
                var rows = new float[batchEncodings[r].Length][];
                for (var t = 0; t < rows.Length; t++)
                {
                    var at = ((r * width) + t) * numLabels;
                    rows[t] = flat[at..(at + numLabels)];
                }
                logits[batch[r]] = rows;
            }
        }
        return logits;
    }

    /// <summary>
    /// Per-token softmax scores of the text's tokens (special tokens left out). A token is a subword when its text is shorter
    /// than the token string (<c>##</c> pieces), HF's rule for WordPiece; [UNK] never is, and stands for its span of
    /// <paramref name="text"/> as in HF's pipeline (an emoji or a name outside the vocabulary is shown, not "[UNK]").
    /// </summary>
    /// <param name="text">The text <paramref name="encoding"/> was encoded from.</param>
    /// <param name="encoding">Its encoding.</param>
    /// <param name="logits">[tokens][num_labels] logits of the encoding.</param>
    public List<TokenScores> Scores(string text, BertEncoding encoding, float[][] logits)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(logits);
        var tokens = new List<TokenScores>();
        for (var i = 0; i < encoding.Length; i++)
        {
            if (encoding.SpecialTokensMask[i] == 1)
            {
                continue;
            }
            var (start, end) = encoding.Utf16Offsets[i];
            var unknown = encoding.Ids[i] == Tokenizer.UnkId;
            var token = unknown ? text[start..end] : encoding.Tokens[i];
            var isSubword = !unknown && token.StartsWith("##", StringComparison.Ordinal) && token.Length != end - start;
            tokens.Add(new TokenScores(token, ScoreMath.Softmax(logits[i]), start, end, i, isSubword));
        }
        return tokens;
    }
}
