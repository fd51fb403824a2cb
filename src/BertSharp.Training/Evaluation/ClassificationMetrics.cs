
namespace BertSharp.Evaluation;

/// <summary>
/// Classification metrics over integer class ids, with the definitions (and zero-division conventions) of scikit-learn:
/// a precision, recall or F1 whose denominator is zero is 0, and MCC is 0 when a marginal is constant. A metric of no
/// predictions at all (empty vectors, or a confusion matrix that counts none) is an <see cref="ArgumentException"/>: it has
/// no value, and a 0 for it read as a model that got everything wrong.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of predictions equal to the truth.</summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    public static double Accuracy(IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        CheckSameLength(truth, predicted);
        RequirePredictions(predicted.Count, nameof(predicted));
        var hits = 0;
        for (var i = 0; i < truth.Count; i++)
        {
            hits += truth[i] == predicted[i] ? 1 : 0;
        }
        return (double)hits / truth.Count;
    }

    /// <summary>Counts [true class, predicted class] over <paramref name="numClasses"/> classes.</summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not positive, or a class id is outside [0, <paramref name="numClasses"/>).</exception>
    public static long[,] ConfusionMatrix(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, int numClasses)
    {
        CheckSameLength(truth, predicted);
        if (numClasses <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), Invariant($"expected at least one class; numClasses is {numClasses}."));
        }
        var m = new long[numClasses, numClasses];
        for (var i = 0; i < truth.Count; i++)
        {
            CheckClassId(truth[i], i, numClasses, nameof(truth));
            CheckClassId(predicted[i], i, numClasses, nameof(predicted));
            m[truth[i], predicted[i]]++;
        }
        return m;
    }

    // A model's prediction outside the label set is its own error, not the gold data's: each vector names itself.
    private static void CheckClassId(int id, int position, int numClasses, string parameter)
    {
        if ((uint)id >= (uint)numClasses)
        {
            throw new ArgumentOutOfRangeException(parameter, Invariant($"class id {id} at position {position} is outside [0, {numClasses})."));
        }
    }

    /// <summary>Precision, recall and F1 of one class treated as positive (sklearn <c>average='binary'</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="confusion"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="confusion"/> is not square, or counts no predictions.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="positive"/> is not a class of <paramref name="confusion"/>, or a count is negative.</exception>
    public static (double Precision, double Recall, double F1) ForClass(long[,] confusion, int positive)
    {
        RequireCounts(confusion, nameof(confusion));
        var k = confusion.GetLength(0);
        if ((uint)positive >= (uint)k)
        {
            throw new ArgumentOutOfRangeException(nameof(positive), Invariant($"the positive class must be one of the confusion matrix's {k} classes, [0, {k})."));
        }
        return CheckedForClass(confusion, positive);
    }

    // For a matrix RequireCounts has passed: Macro would otherwise scan the whole matrix again for every class.
    private static (double Precision, double Recall, double F1) CheckedForClass(long[,] confusion, int positive)
    {
        var k = confusion.GetLength(0);
        long tp = confusion[positive, positive], predictedPositive = 0, actualPositive = 0;
        for (var i = 0; i < k; i++)
        {
            predictedPositive += confusion[i, positive];
            actualPositive += confusion[positive, i];
        }
        var precision = predictedPositive == 0 ? 0 : (double)tp / predictedPositive;
        var recall = actualPositive == 0 ? 0 : (double)tp / actualPositive;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return (precision, recall, f1);
    }

    /// <summary>
    /// Unweighted means of precision, recall and per-class F1 over the classes that occur in the truth or the predictions
    /// (sklearn <c>average='macro'</c> with its default <c>labels=None</c>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="confusion"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="confusion"/> is not square, or counts no predictions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count in <paramref name="confusion"/> is negative.</exception>
    public static (double Precision, double Recall, double F1) Macro(long[,] confusion)
    {
        RequireCounts(confusion, nameof(confusion));
        var k = confusion.GetLength(0);
        double p = 0, r = 0, f = 0;
        var present = 0;
        for (var c = 0; c < k; c++)
        {
            // A class of the model's label set that neither occurs nor is predicted would add a 0 to every mean; sklearn
            // leaves it out, so a dev file without one of the labels does not score lower than the same predictions would.
            if (!Occurs(confusion, c))
            {
                continue;
            }
            var (pc, rc, fc) = CheckedForClass(confusion, c);
            p += pc;
            r += rc;
            f += fc;
            present++;
        }
        return (p / present, r / present, f / present);
    }

    private static bool Occurs(long[,] confusion, int c)
    {
        for (var i = 0; i < confusion.GetLength(0); i++)
        {
            if (confusion[c, i] > 0 || confusion[i, c] > 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Matthews correlation coefficient, multiclass form (Gorodkin 2004, as sklearn's <c>matthews_corrcoef</c>):
    /// (c·s − Σ pₖtₖ) / √((s² − Σ pₖ²)(s² − Σ tₖ²)); 0 when either marginal is constant.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="confusion"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="confusion"/> is not square, or counts no predictions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count in <paramref name="confusion"/> is negative.</exception>
    public static double MatthewsCorrelation(long[,] confusion) => MatthewsCorrelation(confusion, nameof(confusion));

    // noPredictions: the caller's parameter an empty matrix is refused by (its vectors when the caller built the matrix).
    private static double MatthewsCorrelation(long[,] confusion, string noPredictions)
    {
        RequireCounts(confusion, noPredictions);
        var k = confusion.GetLength(0);
        double s = 0, c = 0, sumPt = 0, sumP2 = 0, sumT2 = 0;
        for (var i = 0; i < k; i++)
        {
            double t = 0, p = 0;
            for (var j = 0; j < k; j++)
            {
                t += confusion[i, j];
                p += confusion[j, i];
                s += confusion[i, j];
            }
            c += confusion[i, i];
            sumPt += p * t;
            sumP2 += p * p;
            sumT2 += t * t;
        }
        var denom = Math.Sqrt((s * s) - sumP2) * Math.Sqrt((s * s) - sumT2);
        return denom == 0 ? 0 : ((c * s) - sumPt) / denom;
    }

    /// <summary>MCC straight from label vectors.</summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not positive, or a class id is outside [0, <paramref name="numClasses"/>).</exception>
    public static double MatthewsCorrelation(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, int numClasses)
    {
        // The matrix first: it compares the lengths, so that vectors of two lengths, one of them empty, are not said to be empty.
        // Its check of counts refuses empty vectors, by the vectors' name: a check of its own here made the same one twice.
        return MatthewsCorrelation(ConfusionMatrix(truth, predicted, numClasses), nameof(predicted));
    }

    /// <summary>Throws, naming <paramref name="parameter"/>, when there are no predictions to score.</summary>
    internal static void RequirePredictions(int count, string parameter)
    {
        if (count == 0)
        {
            throw new ArgumentException("expected at least one prediction; there are none to score.", parameter);
        }
    }

    // The class count is read from the first dimension only, so a non-square matrix failed with an IndexOutOfRangeException,
    // and a negative count made precision, recall or MCC a value no predictions could have.
    // An empty one is refused by noPredictions: the parameter the public method was given.
    private static void RequireCounts(long[,] confusion, string noPredictions)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        var (rows, columns) = (confusion.GetLength(0), confusion.GetLength(1));
        if (rows != columns)
        {
            throw new ArgumentException(Invariant($"expected a square confusion matrix, one row and one column per class; it is {rows}×{columns}."), nameof(confusion));
        }
        var counted = false;
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                if (confusion[i, j] < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(confusion), Invariant($"expected counts of 0 or more; the count at [{i}, {j}] is {confusion[i, j]}."));
                }
                counted |= confusion[i, j] != 0;
            }
        }
        if (!counted)
        {
            RequirePredictions(0, noPredictions);
        }
    }

    /// <summary>Throws, naming the vector, when either is null, and naming <paramref name="predicted"/> when their lengths differ.</summary>
    // Named as every public caller names its vectors, so that a null one is reported by the caller's parameter name.
    internal static void CheckSameLength<T>(IReadOnlyList<T> truth, IReadOnlyList<T> predicted)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(predicted);
        if (truth.Count != predicted.Count)
        {
            throw new ArgumentException(Invariant($"expected one prediction per truth value: truth has {truth.Count} values, predicted {predicted.Count}."), nameof(predicted));
        }
    }
}
