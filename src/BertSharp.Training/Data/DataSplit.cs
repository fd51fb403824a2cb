namespace BertSharp.Data;

/// <summary>Splits training data into train and validation parts the way the tutorials do.</summary>
public static class DataSplit
{
    /// <summary>
    /// Holds out <paramref name="valSize"/> of <paramref name="data"/> for validation. Without shuffling the validation part
    /// is the tail of the file (reproducible, and what a reader of the file expects); with <paramref name="shuffle"/> the
    /// examples are shuffled with <paramref name="seed"/> first. <paramref name="valSize"/> is a fraction in [0, 1) or,
    /// when ≥ 1, a count of examples.
    /// </summary>
    /// <exception cref="BertSharpException"><paramref name="valSize"/> is negative, NaN, infinite, or ≥ 1 but not a whole number.</exception>
    /// <returns>The training part and the validation part (null when <paramref name="valSize"/> is 0).</returns>
    public static (TextDataset Train, TextDataset? Validation) TrainValidation(TextDataset data, double valSize, bool shuffle, ulong seed)
    {
        CheckValSize(valSize);
        var items = data.Examples.ToList();
        if (shuffle)
        {
            new DeterministicRandom(seed).Shuffle(items);
        }
        var n = items.Count;
        var valCount = valSize >= 1 ? (int)valSize : (int)Math.Round(n * valSize, MidpointRounding.AwayFromZero);
        if (valSize > 0 && valCount == 0)
        {
            valCount = 1;
        }
        if (valCount == 0)
        {
            return (data.With(items), null);
        }
        if (valCount >= n)
        {
            throw new BertSharpException($"{data.Path}: --val-size {valSize} leaves no training examples out of {n}; lower it or pass --eval-data.");
        }
        return (data.With(items[..(n - valCount)]), data.With(items[(n - valCount)..]));
    }

    /// <summary>
    /// Checks a <c>--val-size</c>: a fraction in [0, 1) or a whole number of examples (1.5 would silently mean 1).
    /// </summary>
    public static void CheckValSize(double valSize)
    {
        if (double.IsNaN(valSize) || double.IsInfinity(valSize) || valSize < 0 || (valSize >= 1 && valSize != Math.Floor(valSize)) || valSize > int.MaxValue)
        {
            throw new BertSharpException(
                $"--val-size {valSize.ToString(System.Globalization.CultureInfo.InvariantCulture)}: expected a fraction in [0, 1) or a whole number of examples.");
        }
    }
}
