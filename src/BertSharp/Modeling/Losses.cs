using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// The losses of HF's BERT heads, with HF's shapes, reductions and ignore rules; always computed in float32 (bf16 logits of
/// <see cref="MixedPrecision"/> are cast up, as autocast runs every loss in float32).
/// </summary>
internal static class Losses
{
    /// <summary>Label value that no loss counts (HF/torch <c>ignore_index</c>).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Mean cross-entropy of logits [..., classes] against int64 labels [...]; labels equal to -100 are skipped. A label count
    /// or class id that does not fit the logits is refused naming <paramref name="name"/>. With <paramref name="labelSmoothing"/>
    /// ε &gt; 0 it is HF Trainer's <c>LabelSmoother</c>: (1 − ε) · the mean cross-entropy + ε · the mean over the labelled rows
    /// of −Σ log_softmax / classes (libtorch's <c>label_smoothing</c> is that formula, ignored rows left out of both means).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, string name = "labels", long ignoreIndex = IgnoreIndex, double labelSmoothing = 0)
    {
        var classes = logits.shape[^1];
        using var full = MixedPrecision.Float32(logits);
        using var flatLogits = full.reshape(-1, classes);
        if (labels.numel() != flatLogits.shape[0])
        {
            throw new BertSharpException(
                Invariant($"{name}: shape [{ShapeText.Join(labels.shape)}] holds {labels.numel()} labels; expected {flatLogits.shape[0]}, one per row of logits [{ShapeText.Join(logits.shape)}]."));
        }
        using var flatLabels = labels.reshape(-1).to_type(ScalarType.Int64);
        CheckClassIds(flatLabels, classes, name, ignoreIndex);
        return nn.functional.cross_entropy(flatLogits, flatLabels, ignore_index: ignoreIndex, label_smoothing: labelSmoothing);
    }

    /// <summary>
    /// The loss HF's Trainer trains and validates a classification head on: the head's own
    /// (<paramref name="output"/>'s, computed with <paramref name="labels"/>), or with <paramref name="labelSmoothing"/> &gt; 0
    /// its <c>LabelSmoother</c> over the logits (<see cref="CrossEntropy"/>); null without labels.
    /// </summary>
    public static Tensor? Trainer(ClassifierOutput output, Tensor? labels, double labelSmoothing) =>
        labelSmoothing == 0 || labels is null ? output.Loss : CrossEntropy(output.Logits, labels, labelSmoothing: labelSmoothing);

    // libtorch says only "Target 7 is out of bounds." (a device-side assert on a GPU); the labels are small next to the
    // logits, and the check reads one boolean back (the offending value only when there is one).
    private static void CheckClassIds(Tensor labels, long classes, string name, long ignoreIndex)
    {
        if (labels.numel() == 0)
        {
            return;
        }
        using var scope = NewDisposeScope();
        var outside = labels.lt(StableScalars.Of(0L)).logical_or(labels.ge(StableScalars.Of(classes)));
        var bad = outside.logical_and(labels.ne(StableScalars.Of(ignoreIndex)));
        if (!bad.any().item<bool>())
        {
            return;
        }
        var first = labels.masked_select(bad)[0].item<long>();
        throw new BertSharpException(Invariant($"{name}: class {first} is outside [0, {classes}) and is not the ignore index {ignoreIndex}."));
    }

    /// <summary>
    /// The sequence-classification loss as HF picks it: <paramref name="problemType"/> if set, else regression when there is one
    /// label, single-label cross-entropy for integer labels, multi-label BCE-with-logits otherwise. Returns the loss and the
    /// problem type used.
    /// </summary>
    public static (Tensor Loss, string ProblemType) SequenceClassification(Tensor logits, Tensor labels, int numLabels, string? problemType)
    {
        problemType = BertConfig.IsRegressionProblem(problemType, numLabels) ? "regression"
            : problemType ?? (labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? "single_label_classification" : "multi_label_classification");
        switch (problemType)
        {
            case "regression":
                {
                    using var scope = NewDisposeScope();
                    var full = MixedPrecision.Float32(logits);
                    var target = labels.to_type(full.dtype);
                    var loss = numLabels == 1
                        ? nn.functional.mse_loss(full.squeeze(), target.squeeze())
                        : nn.functional.mse_loss(full, target);
                    return (loss.MoveToOuterDisposeScope(), problemType);
                }
            case "single_label_classification":
                return (CrossEntropy(logits.view(-1, numLabels), labels.view(-1)), problemType);
            case "multi_label_classification":
                {
                    // Float class ids (one per row) pick this branch as in HF, where libtorch then said only "Target size
                    // ([2]) must be the same as input size ([2, 3])".
                    if (!labels.shape.SequenceEqual(logits.shape))
                    {
                        throw new BertSharpException(
                            $"labels: shape [{ShapeText.Join(labels.shape)}] ({labels.dtype}) for multi-label classification; expected multi-hot labels of the logits' shape [{ShapeText.Join(logits.shape)}], or integer class ids (Int64) for single-label classification.");
                    }
                    using var full = MixedPrecision.Float32(logits);
                    using var target = labels.to_type(full.dtype);
                    return (nn.functional.binary_cross_entropy_with_logits(full, target), problemType);
                }
            default:
                throw new BertSharpException(
                    $"problem_type '{problemType}': expected regression, single_label_classification or multi_label_classification.");
        }
    }

    /// <summary>
    /// Span loss of extractive QA: positions [batch] are clamped to [0, seq] and seq is ignored, then
    /// (CE(start) + CE(end)) / 2 — exactly HF's rule for answers outside the window.
    /// </summary>
    public static Tensor QuestionAnswering(Tensor startLogits, Tensor endLogits, Tensor startPositions, Tensor endPositions)
    {
        CheckPositionCount(startPositions, startLogits, "start_positions");
        CheckPositionCount(endPositions, endLogits, "end_positions");
        // to_type(Int64) truncated float positions (1.7 trained on token 1) where HF's cross_entropy refuses them.
        RequireIntegers(startPositions, "start_positions", "integer token indices (Int64)");
        RequireIntegers(endPositions, "end_positions", "integer token indices (Int64)");
        using var scope = NewDisposeScope();
        var ignored = startLogits.shape[1];
        // Stable Scalars: an implicit one can be freed by the GC during the native call (see StableScalars).
        var (zero, last) = (StableScalars.Of(0L), StableScalars.Of(ignored));
        var start = startPositions.reshape(-1).to_type(ScalarType.Int64).clamp(zero, last);
        var end = endPositions.reshape(-1).to_type(ScalarType.Int64).clamp(zero, last);
        var s = nn.functional.cross_entropy(MixedPrecision.Float32(startLogits), start, ignore_index: ignored);
        var e = nn.functional.cross_entropy(MixedPrecision.Float32(endLogits), end, ignore_index: ignored);
        return StableScalars.Divide(StableScalars.Add(s, e), 2).MoveToOuterDisposeScope();
    }

    // libtorch said "Expected input batch_size (2) to match target batch_size (3)", naming neither tensor.
    private static void CheckPositionCount(Tensor positions, Tensor logits, string name)
    {
        if (positions.numel() != logits.shape[0])
        {
            throw new BertSharpException(
                Invariant($"{name}: shape [{ShapeText.Join(positions.shape)}] holds {positions.numel()} positions; expected {logits.shape[0]}, one per sequence of the logits [{ShapeText.Join(logits.shape)}]."));
        }
    }

    /// <summary>
    /// Refuses targets of a floating-point (or bool) dtype, which the losses' to_type(Int64) would otherwise truncate silently,
    /// naming <paramref name="name"/> and saying what was <paramref name="expected"/>.
    /// </summary>
    public static void RequireIntegers(Tensor targets, string name, string expected)
    {
        if (targets.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
        {
            throw new BertSharpException($"{name}: dtype {targets.dtype}; expected {expected}.");
        }
    }
}
