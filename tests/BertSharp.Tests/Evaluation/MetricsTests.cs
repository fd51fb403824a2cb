using BertSharp.Evaluation;

namespace BertSharp.Tests.Evaluation;

/// <summary>
/// Expected values are the documented outputs of scikit-learn / scipy for these exact vectors (their API docs' examples)
/// or counted by hand from the confusion matrix (the counts are written next to each value).
/// </summary>
public class MetricsTests
{
    // tp=5 tn=2 fp=2 fn=1 (counted by hand).
    private static readonly int[] BinTrue = [1, 1, 0, 1, 0, 0, 1, 1, 0, 1];
    private static readonly int[] BinPred = [1, 0, 0, 1, 1, 0, 1, 1, 1, 1];

    [Fact]
    public void Binary_metrics_match_hand_counts()
    {
        var cm = ClassificationMetrics.ConfusionMatrix(BinTrue, BinPred, 2);
        Assert.Equal(new long[,] { { 2, 2 }, { 1, 5 } }, cm);
        Assert.Equal(0.7, ClassificationMetrics.Accuracy(BinTrue, BinPred), 12);
        var (p, r, f) = ClassificationMetrics.ForClass(cm, 1);
        Assert.Equal(5.0 / 7, p, 12);
        Assert.Equal(5.0 / 6, r, 12);
        Assert.Equal(10.0 / 13, f, 12);
        // (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = 8 / √(7·6·4·3)
        Assert.Equal(8 / Math.Sqrt(504), ClassificationMetrics.MatthewsCorrelation(cm), 12);
        var (mp, mr, mf) = ClassificationMetrics.Macro(cm);
        Assert.Equal(0.6904761904761905, mp, 12);
        Assert.Equal(0.6666666666666667, mr, 12);
        Assert.Equal(0.6703296703296704, mf, 12);
    }

    [Fact]
    public void Mcc_matches_sklearn_doc_example()
    {
        // sklearn.metrics.matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) == -0.33...
        Assert.Equal(-1.0 / 3, ClassificationMetrics.MatthewsCorrelation([1, 1, 1, 0], [1, 0, 1, 1], 2), 12);
    }

    [Fact]
    public void Mcc_is_zero_when_a_marginal_is_constant()
    {
        // All predictions one class (what an untrained CoLA model often does): sklearn returns 0.0.
        Assert.Equal(0.0, ClassificationMetrics.MatthewsCorrelation([0, 1, 1, 0], [1, 1, 1, 1], 2));
    }

    [Fact]
    public void Multiclass_macro_matches_sklearn_doc_example()
    {
        // sklearn docs (precision_score / recall_score / f1_score, average='macro'):
        // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1] → 0.22..., 0.33..., 0.26...
        int[] t = [0, 1, 2, 0, 1, 2], p = [0, 2, 1, 0, 0, 1];
        var (mp, mr, mf) = ClassificationMetrics.Macro(ClassificationMetrics.ConfusionMatrix(t, p, 3));
        Assert.Equal(0.2222222222222222, mp, 12);
        Assert.Equal(0.3333333333333333, mr, 12);
        Assert.Equal(0.26666666666666666, mf, 12);
    }

    [Fact]
    public void Macro_averages_only_the_classes_that_occur_like_sklearn()
    {
        // Three classes in the label set, class 2 neither in the truth nor predicted. y_true = [0, 0, 1, 1],
        // y_pred = [0, 1, 1, 1]: class 0 P = 1/1, R = 1/2, F = 2/3; class 1 P = 2/3, R = 2/2, F = 0.8. sklearn
        // (labels=None → {0, 1}): P = (1 + 2/3)/2 = 5/6, R = (1/2 + 1)/2 = 3/4, F = (2/3 + 4/5)/2 = 11/15 — not the /3 means.
        var (mp, mr, mf) = ClassificationMetrics.Macro(ClassificationMetrics.ConfusionMatrix([0, 0, 1, 1], [0, 1, 1, 1], 3));
        Assert.Equal(5.0 / 6, mp, 12);
        Assert.Equal(3.0 / 4, mr, 12);
        Assert.Equal(11.0 / 15, mf, 12);
        // A class only predicted still counts (precision 0, recall 0): y_true = [0, 0], y_pred = [0, 2] over 3 classes →
        // class 0 P = 1, R = 1/2, F = 2/3; class 2 P = R = F = 0; means over {0, 2}: 1/2, 1/4, 1/3.
        var (p2, r2, f2) = ClassificationMetrics.Macro(ClassificationMetrics.ConfusionMatrix([0, 0], [0, 2], 3));
        Assert.Equal(0.5, p2, 12);
        Assert.Equal(0.25, r2, 12);
        Assert.Equal(1.0 / 3, f2, 12);
    }

    [Fact]
    public void Multiclass_mcc_and_confusion_matrix()
    {
        // sklearn confusion_matrix doc example.
        Assert.Equal(new long[,] { { 2, 0, 0 }, { 0, 0, 1 }, { 1, 0, 2 } },
            ClassificationMetrics.ConfusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3));
        // C = [[1,1,0],[0,2,0],[1,0,2]]: c=5, s=7, t=(2,2,3), p=(2,3,2): (35−16)/√((49−17)(49−17)) = 19/32.
        Assert.Equal(19.0 / 32, ClassificationMetrics.MatthewsCorrelation([0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 1, 2, 0, 2], 3), 12);
    }

    [Fact]
    public void Pearson_matches_scipy_doc_example()
    {
        // scipy.stats.pearsonr([1,2,3,4,5,6,7], [10,9,2.5,6,4,3,2]).statistic
        Assert.Equal(-0.828503883588428, RegressionMetrics.Pearson([1, 2, 3, 4, 5, 6, 7], [10, 9, 2.5, 6, 4, 3, 2]), 12);
        Assert.True(double.IsNaN(RegressionMetrics.Pearson([1, 1, 1], [1, 2, 3])));
        // y = 1.1·x + 0.1 in doubles: the plain formula gives 1.0000000000000002 here; scipy clips r to [-1, 1].
        double[] x = [0.1, 8.0, 0.6666666666666666, 0.6], y = [0.21000000000000002, 8.9, 0.8333333333333334, 0.76];
        Assert.Equal(1.0, RegressionMetrics.Pearson(x, y));
        Assert.Equal(-1.0, RegressionMetrics.Pearson(x, [.. y.Select(v => -v)]));
        // Two points: scipy's r is the product of the two steps' signs, exactly ±1 (the formula gave 0.9999999999999998).
        Assert.Equal(1.0, RegressionMetrics.Pearson([0.8, 0.7], [0.67, 0.31]));
        Assert.Equal(-1.0, RegressionMetrics.Pearson([0.8, 0.7], [0.31, 0.67]));
        Assert.True(double.IsNaN(RegressionMetrics.Pearson([0.8, double.NaN], [0.31, 0.67])));
    }

    // No predictions have no score: these returned 0 (accuracy, F1 and MCC a model wrong on everything, MSE a perfect one).
    // A single pair is constant, so Pearson and Spearman stay NaN for it.
    [Fact]
    public void Metrics_of_no_predictions_are_refused_naming_the_parameter()
    {
        void Refused(string parameter, Action metric) =>
            Assert.StartsWith("expected at least one prediction", Assert.Throws<ArgumentException>(parameter, metric).Message, StringComparison.Ordinal);
        Refused("predicted", () => ClassificationMetrics.Accuracy([], []));
        Refused("predicted", () => ClassificationMetrics.MatthewsCorrelation([], [], 2));
        var none = ClassificationMetrics.ConfusionMatrix([], [], 2);
        Refused("confusion", () => ClassificationMetrics.MatthewsCorrelation(none));
        Refused("confusion", () => ClassificationMetrics.Macro(none));
        Refused("confusion", () => ClassificationMetrics.ForClass(none, 1));
        Refused("predicted", () => MetricsReport.ForClassification(["a", "b"], [], []));
        Refused("y", () => RegressionMetrics.Pearson([], []));
        Refused("y", () => RegressionMetrics.Spearman([], []));
        Refused("predicted", () => RegressionMetrics.MeanSquaredError([], []));
        Refused("predicted", () => MetricsReport.ForRegression([], []));
        Refused("predicted", () => SeqevalMetrics.Evaluate([], []));
        Refused("predicted", () => SeqevalMetrics.Evaluate([[]], [[]], SeqevalScheme.IOB2));
        Refused("predictions", () => SquadMetrics.Evaluate([], [], 0));
        Refused("predictions", () => SquadMetrics.Evaluate([], [], 0, version2: false));
        Assert.True(double.IsNaN(RegressionMetrics.Pearson([1], [2])));
        Assert.True(double.IsNaN(RegressionMetrics.Spearman([1], [2])));
    }

    // A null vector was a NullReferenceException from inside the metric, or an ArgumentNullException naming LINQ's 'source'.
    [Fact]
    public void Metrics_of_a_null_vector_are_refused_naming_the_parameter()
    {
        int[] some = [0, 1];
        double[] values = [0.5, 0.25];
        Assert.Throws<ArgumentNullException>("truth", () => ClassificationMetrics.Accuracy(null!, some));
        Assert.Throws<ArgumentNullException>("predicted", () => ClassificationMetrics.Accuracy(some, null!));
        Assert.Throws<ArgumentNullException>("truth", () => ClassificationMetrics.ConfusionMatrix(null!, some, 2));
        Assert.Throws<ArgumentNullException>("predicted", () => ClassificationMetrics.MatthewsCorrelation(some, null!, 2));
        Assert.Throws<ArgumentNullException>("labels", () => MetricsReport.ForClassification(null!, some, some));
        Assert.Throws<ArgumentNullException>("predicted", () => MetricsReport.ForClassification(["a", "b"], some, null!));
        Assert.Throws<ArgumentNullException>("truth", () => MetricsReport.ForRegression(null!, values));
        Assert.Throws<ArgumentNullException>("x", () => RegressionMetrics.Spearman(null!, values));
        Assert.Throws<ArgumentNullException>("values", () => RegressionMetrics.Ranks(null!));
        // A null sentence or tag inside the lists was a NullReferenceException from the chunking or the length check.
        Assert.Throws<ArgumentException>("truth", () => SeqevalMetrics.Evaluate([null!], [["O"]]));
        Assert.Throws<ArgumentException>("predicted", () => SeqevalMetrics.Evaluate([["O"]], [null!]));
        Assert.Throws<ArgumentException>("predicted", () => SeqevalMetrics.Evaluate([["B-PER", "O"]], [["B-PER", null!]]));
        Assert.Throws<ArgumentException>("truth", () => SeqevalMetrics.Evaluate([[null!]], [["O"]], SeqevalScheme.IOB2));
        // SQuAD's: a null gold list was a NullReferenceException, a null text an ArgumentNullException naming Normalize's 's'.
        SquadPrediction[] answered = [new("the mat", 0)];
        Assert.Throws<ArgumentException>("golds", () => SquadMetrics.Evaluate([null!], answered, 0));
        Assert.Throws<ArgumentException>("golds", () => SquadMetrics.Evaluate([null!], answered, 0, version2: false));
        Assert.Throws<ArgumentException>("golds", () => SquadMetrics.Evaluate([["the mat", null!]], answered, 0));
        Assert.Throws<ArgumentException>("predictions", () => SquadMetrics.Evaluate([["the mat"]], [new(null!, 0)], 0));
    }

    // A mismatch named no parameter, a predicted class outside the labels was blamed on the truth, ForClass and a class
    // count of 0 or less failed with IndexOutOfRange or Overflow exceptions (or, for 0 classes and no data, returned a 0×0
    // matrix), and a confusion matrix that is not square or counts less than nothing was scored.
    [Fact]
    public void Metrics_of_mismatched_or_out_of_range_input_are_refused_naming_the_parameter()
    {
        static void Refused<T>(string parameter, Action metric)
            where T : ArgumentException =>
            Assert.DoesNotContain('\n', Assert.Throws<T>(parameter, metric).Message);
        int[] two = [0, 1], one = [0];
        Refused<ArgumentException>("predicted", () => ClassificationMetrics.Accuracy(two, one));
        Refused<ArgumentException>("predicted", () => ClassificationMetrics.ConfusionMatrix(two, one, 2));
        Refused<ArgumentException>("predicted", () => ClassificationMetrics.MatthewsCorrelation(one, two, 2));
        Refused<ArgumentException>("predicted", () => MetricsReport.ForClassification(["a", "b"], two, one));
        Refused<ArgumentException>("y", () => RegressionMetrics.Pearson([1, 2], [1]));
        Refused<ArgumentException>("y", () => RegressionMetrics.Spearman([1, 2], [1]));
        Refused<ArgumentException>("predicted", () => RegressionMetrics.MeanSquaredError([1, 2], [1]));
        Refused<ArgumentException>("predicted", () => MetricsReport.ForRegression([1, 2], [1]));
        Refused<ArgumentException>("predicted", () => SeqevalMetrics.Evaluate([["O"]], []));
        Refused<ArgumentException>("predicted", () => SeqevalMetrics.Evaluate([["O"]], [["O", "O"]]));
        Refused<ArgumentException>("predictions", () => SquadMetrics.Evaluate([["an answer"]], [], 0));
        Refused<ArgumentOutOfRangeException>("predicted", () => ClassificationMetrics.ConfusionMatrix(two, [0, 2], 2));
        Refused<ArgumentOutOfRangeException>("truth", () => ClassificationMetrics.ConfusionMatrix([-1, 0], two, 2));
        Refused<ArgumentOutOfRangeException>("predicted", () => MetricsReport.ForClassification(["a", "b"], two, [5, 0]));
        Refused<ArgumentOutOfRangeException>("numClasses", () => ClassificationMetrics.ConfusionMatrix([], [], 0));
        Refused<ArgumentOutOfRangeException>("numClasses", () => ClassificationMetrics.ConfusionMatrix(two, two, -1));
        Refused<ArgumentException>("labels", () => MetricsReport.ForClassification([], two, two));
        var cm = ClassificationMetrics.ConfusionMatrix(two, two, 2);
        Refused<ArgumentOutOfRangeException>("positive", () => ClassificationMetrics.ForClass(cm, 2));
        Refused<ArgumentOutOfRangeException>("positive", () => ClassificationMetrics.ForClass(cm, -1));
        // The class count came from the first dimension only: a taller matrix failed with an IndexOutOfRangeException, a
        // wider one was scored without its last columns, and a negative count gave a value no predictions can have.
        var tall = new long[3, 2] { { 1, 0 }, { 0, 1 }, { 1, 0 } };
        var wide = new long[2, 3] { { 1, 0, 2 }, { 0, 1, 0 } };
        Refused<ArgumentException>("confusion", () => ClassificationMetrics.ForClass(tall, 0));
        Refused<ArgumentException>("confusion", () => ClassificationMetrics.Macro(tall));
        Refused<ArgumentException>("confusion", () => ClassificationMetrics.MatthewsCorrelation(tall));
        Refused<ArgumentException>("confusion", () => ClassificationMetrics.Macro(wide));
        Refused<ArgumentOutOfRangeException>("confusion", () => ClassificationMetrics.MatthewsCorrelation(new long[,] { { 2, -1 }, { 0, 1 } }));
        Refused<ArgumentOutOfRangeException>("confusion", () => ClassificationMetrics.ForClass(new long[,] { { 1, 0 }, { 0, -1 } }, 0));
    }

    [Fact]
    public void Pearson_of_a_constant_that_its_mean_does_not_reproduce_is_nan()
    {
        // 0.1 + 0.1 + 0.1 = 0.30000000000000004, /3 = 0.10000000000000002 ≠ 0.1: every deviation is −1.4e-17, not 0, and
        // r came out as rounding noise (≈1e-16) instead of scipy's NaN for constant input (a model predicting 0.1 always).
        Assert.True(double.IsNaN(RegressionMetrics.Pearson([0.1, 0.1, 0.1], [1, 2, 4])));
        Assert.True(double.IsNaN(RegressionMetrics.Pearson([1, 2, 4], [0.1, 0.1, 0.1])));
        Assert.True(double.IsNaN(RegressionMetrics.Spearman([0.1, 0.1, 0.1], [1, 2, 4])));
    }

    [Fact]
    public void Spearman_averages_ties_like_scipy()
    {
        // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]).statistic: the two 7s share rank 3.5.
        Assert.Equal([1, 2, 3.5, 5, 3.5], RegressionMetrics.Ranks([5, 6, 7, 8, 7]));
        Assert.Equal(0.8207826816681233, RegressionMetrics.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 12);
        // scipy's default nan_policy='propagate': a NaN prediction makes ρ NaN. Ranked, each NaN got a rank of its own
        // (below every number), and these predictions scored ρ = 0.8.
        Assert.True(double.IsNaN(RegressionMetrics.Spearman([1, 2, 3, 4], [2, double.NaN, 3, 4])));
        Assert.All(RegressionMetrics.Ranks([3, double.NaN, 1]), r => Assert.True(double.IsNaN(r)));
        // Infinities are ordinary values to rank.
        Assert.Equal(1.0, RegressionMetrics.Spearman([1, 2, 3], [double.NegativeInfinity, 0, double.PositiveInfinity]), 12);
    }

    [Fact]
    public void Report_has_binary_and_macro_metrics_and_writes_json()
    {
        var report = MetricsReport.ForClassification(["nég", "l'avis+"], BinTrue, BinPred, loss: 0.5);
        Assert.Equal(10.0 / 13, report.Get("f1"), 12);
        Assert.Equal(0.6703296703296704, report.Get("macro_f1"), 12);
        Assert.Throws<BertSharpException>(() => report.Get("pearson"));
        using var dir = Infrastructure.TestPaths.TempDir();
        report.Save(dir.File("metrics.json"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(dir.File("metrics.json")))!;
        Assert.Equal(0.7, json["metrics"]!["accuracy"]!.GetValue<double>());
        // metrics.json keeps 6 decimals; 0.7 alone would not tell a coarser rounding.
        Assert.Equal(Math.Round(10.0 / 13, 6), json["metrics"]!["f1"]!.GetValue<double>());
        Assert.Equal(5, json["confusion_matrix"]![1]![1]!.GetValue<long>());
        Assert.Equal(10, json["examples"]!.GetValue<int>());
        // A file people open: label names as written (the default encoder wrote n\u00E9g and l\u0027avis\u002B).
        Assert.Contains("\"nég\"", File.ReadAllText(dir.File("metrics.json")), StringComparison.Ordinal);
        Assert.Contains("\"l'avis+\"", File.ReadAllText(dir.File("metrics.json")), StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Regression_report()
    {
        var r = MetricsReport.ForRegression([1, 2, 3, 4], [1, 2, 3, 5]);
        Assert.Equal(0.25, r.Get("mse"), 12);
        Assert.Equal(1.0, r.Get("spearman"), 12);
        Assert.Null(r.Confusion);
    }
}
