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
    /// <returns>The training part and the validation part (null when <paramref name="valSize"/> is 0).</returns>
    public static (TextDataset Train, TextDataset? Validation) TrainValidation(TextDataset data, double valSize, bool shuffle, ulong seed)
    {
        if (double.IsNaN(valSize) || valSize < 0)
        {
            throw new BertSharpException($"--val-size {valSize}: expected a fraction in [0, 1) or a number of examples.");
        }
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
}
