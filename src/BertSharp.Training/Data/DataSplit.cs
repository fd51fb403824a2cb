using System.Globalization;

namespace BertSharp.Data;

/// <summary>How <see cref="DataSplit.TrainValidation(TextDataset, double, SplitMethod, ulong)"/> picks the validation examples.</summary>
public enum SplitMethod
{
    /// <summary>A seeded random sample with each label in the proportion it has in the file (the default for classification).</summary>
    Stratified,

    /// <summary>A seeded random sample (the default for regression).</summary>
    Random,

    /// <summary>The last examples of the file (wrong for files sorted by label, such as IMDb's).</summary>
    Tail,
}

/// <summary>Splits training data into train and validation parts.</summary>
public static class DataSplit
{
    /// <summary>Holds out the tail of the file, or a seeded random part with <paramref name="shuffle"/>.</summary>
    public static (TextDataset Train, TextDataset? Validation) TrainValidation(TextDataset data, double valSize, bool shuffle, ulong seed) =>
        TrainValidation(data, valSize, shuffle ? SplitMethod.Random : SplitMethod.Tail, seed);

    /// <summary>
    /// Holds out <paramref name="valSize"/> of <paramref name="data"/> for validation. <paramref name="valSize"/> is a fraction
    /// in [0, 1) or, when ≥ 1, a count of examples. With <see cref="SplitMethod.Stratified"/> every label contributes in
    /// proportion to its count (largest remainders; each label with at least two examples gives at least one), sampled with
    /// <paramref name="seed"/>; <see cref="SplitMethod.Random"/> samples without regard to labels; <see cref="SplitMethod.Tail"/>
    /// takes the end of the file (both parts then keep the file's order; otherwise both are in a seeded random order).
    /// </summary>
    /// <exception cref="BertSharpException"><paramref name="valSize"/> is negative, NaN, infinite, or ≥ 1 but not a whole number.</exception>
    /// <returns>The training part and the validation part (null when <paramref name="valSize"/> is 0).</returns>
    public static (TextDataset Train, TextDataset? Validation) TrainValidation(TextDataset data, double valSize, SplitMethod method, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckValSize(valSize);
        var n = data.Count;
        var valCount = valSize >= 1 ? (int)valSize : (int)Math.Round(n * valSize, MidpointRounding.AwayFromZero);
        if (valSize > 0 && valCount == 0)
        {
            valCount = 1;
        }
        if (valCount == 0)
        {
            return (data, null);
        }
        if (valCount >= n)
        {
            throw new BertSharpException(Invariant($"{data.Path}: {BertSharpException.Field("val_size")} {valSize} leaves no training examples out of {n}; lower it or give {BertSharpException.Field("eval_data")}."));
        }
        var items = data.Examples.ToList();
        if (method == SplitMethod.Tail)
        {
            return (data.With(items[..(n - valCount)]), data.With(items[(n - valCount)..]));
        }
        var rng = new DeterministicRandom(seed);
        if (method == SplitMethod.Random)
        {
            rng.Shuffle(items);
            return (data.With(items[..(n - valCount)]), data.With(items[(n - valCount)..]));
        }
        // Both parts in a seeded random order, so that --max-train-examples / --max-eval-examples take random subsets too.
        var isHeld = new bool[n];
        foreach (var i in Stratified(data, valCount, rng))
        {
            isHeld[i] = true;
        }
        var train = Enumerable.Range(0, n).Where(i => !isHeld[i]).Select(i => items[i]).ToList();
        var val = Enumerable.Range(0, n).Where(i => isHeld[i]).Select(i => items[i]).ToList();
        rng.Shuffle(train);
        rng.Shuffle(val);
        return (data.With(train), data.With(val));
    }

    /// <summary>
    /// The blocks of a file whose examples are grouped by label (each label in one contiguous run, at least two labels), as
    /// (label, first line, last line, count) in file order; null when the labels are interleaved.
    /// </summary>
    public static IReadOnlyList<(string Label, int FirstLine, int LastLine, int Count)>? LabelBlocks(TextDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var blocks = new List<(string Label, int FirstLine, int LastLine, int Count)>();
        foreach (var e in data.Examples)
        {
            var label = e.Label ?? "";
            if (blocks.Count > 0 && blocks[^1].Label == label)
            {
                var b = blocks[^1];
                blocks[^1] = (b.Label, b.FirstLine, e.Line, b.Count + 1);
            }
            else
            {
                blocks.Add((label, e.Line, e.Line, 1));
            }
        }
        var distinct = blocks.Select(b => b.Label).Distinct(StringComparer.Ordinal).Count();
        // Sorted means one run per label; a handful of examples can't tell sorted from chance.
        return distinct >= 2 && blocks.Count == distinct && data.Count >= 4 * distinct ? blocks : null;
    }

    /// <summary>"negative (lines 2-12,501), positive (lines 12,502-25,001)" for messages.</summary>
    public static string DescribeBlocks(IReadOnlyList<(string Label, int FirstLine, int LastLine, int Count)> blocks) =>
        string.Join(", ", blocks.Select(b => Invariant($"{b.Label} (lines {b.FirstLine:N0}-{b.LastLine:N0})")));

    private static List<int> Stratified(TextDataset data, int valCount, DeterministicRandom rng)
    {
        var groups = data.Examples.Select((e, i) => (e.Label ?? "", i)).GroupBy(x => x.Item1, StringComparer.Ordinal)
            .Select(g => g.Select(x => x.i).ToList()).ToList();
        var n = data.Count;
        // Largest remainders: floor shares first, the leftover to the labels with the biggest fractional parts (ties: file order).
        var exact = groups.Select(g => (double)g.Count * valCount / n).ToArray();
        var take = exact.Select(x => (int)Math.Floor(x)).ToArray();
        foreach (var k in Enumerable.Range(0, groups.Count).OrderByDescending(k => exact[k] - take[k]).ThenBy(k => k).Take(valCount - take.Sum()))
        {
            take[k]++;
        }
        // A label with two or more examples is represented in validation when the budget allows (taken from the largest share).
        for (var k = 0; k < groups.Count; k++)
        {
            if (take[k] == 0 && groups[k].Count >= 2)
            {
                var donor = Enumerable.Range(0, groups.Count).Where(d => take[d] > 1).OrderByDescending(d => take[d]).FirstOrDefault(-1);
                if (donor >= 0)
                {
                    take[donor]--;
                    take[k]++;
                }
            }
        }
        var held = new List<int>(valCount);
        for (var k = 0; k < groups.Count; k++)
        {
            rng.Shuffle(groups[k]);
            held.AddRange(groups[k].Take(take[k]));
        }
        return held;
    }

    /// <summary>
    /// Checks a <c>--val-size</c>: a fraction in [0, 1) or a whole number of examples (1.5 would silently mean 1).
    /// </summary>
    public static void CheckValSize(double valSize)
    {
        if (double.IsNaN(valSize) || double.IsInfinity(valSize) || valSize < 0 || (valSize >= 1 && valSize != Math.Floor(valSize)) || valSize > int.MaxValue)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("val_size")} {valSize.ToString(System.Globalization.CultureInfo.InvariantCulture)}: expected a fraction in [0, 1) or a whole number of examples.");
        }
    }
}
