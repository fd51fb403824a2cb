using System.Text;
using BertSharp.Data;

namespace BertSharp.Evaluation;

/// <summary>SQuAD scores in percent, as the official evaluation scripts print them (v1.1: exact and F1 only; the rest NaN but HasAns, which equals them).</summary>
/// <param name="Exact">Exact match over all questions at the given no-answer threshold.</param>
/// <param name="F1">Token F1 over all questions at that threshold.</param>
/// <param name="Total">Questions scored.</param>
/// <param name="HasAnsExact">Exact match over the answerable questions (NaN when there are none).</param>
/// <param name="HasAnsF1">F1 over the answerable questions.</param>
/// <param name="HasAnsTotal">Answerable questions (the script's <c>HasAns_total</c>).</param>
/// <param name="NoAnsExact">Exact match (= F1) over the unanswerable questions (NaN when there are none).</param>
/// <param name="NoAnsTotal">Unanswerable questions (the script's <c>NoAns_total</c>; 0 for v1.1).</param>
/// <param name="BestExact">
/// The v2.0 script's <c>best_exact</c>: the best exact match over every no-answer threshold, the questions scored by their
/// final answers at the given threshold ("" where the model abstained), as the script scores the predictions it is given.
/// </param>
/// <param name="BestExactThreshold">The null-score difference where it is reached.</param>
/// <param name="BestF1">The best F1 over every threshold.</param>
/// <param name="BestF1Threshold">The null-score difference where it is reached (<c>best_f1_thresh</c>).</param>
public sealed record SquadScores(double Exact, double F1, int Total, double HasAnsExact, double HasAnsF1, int HasAnsTotal, double NoAnsExact,
    int NoAnsTotal, double BestExact, double BestExactThreshold, double BestF1, double BestF1Threshold);

/// <summary>A model's answer to one question for SQuAD scoring.</summary>
/// <param name="BestAnswer">The best non-empty answer text ("" when the model found no span).</param>
/// <param name="NullScoreDiff">How much more the model believes in "no answer" than in <paramref name="BestAnswer"/> (HF run_qa's <c>score_null − best_non_null</c>); the answer is "" when it is above the threshold.</param>
public readonly record struct SquadPrediction(string BestAnswer, double NullScoreDiff);

/// <summary>
/// The official SQuAD evaluation scripts: answers are normalised (lower-cased, ASCII punctuation removed, the articles
/// a/an/the removed, whitespace collapsed) and exact match and token F1 are the maximum over the gold answers. v2.0
/// (<c>evaluate-v2.0.py</c>): gold answers that normalise to nothing are dropped, an unanswerable question's gold answer
/// is "" (right only for an empty prediction, and two empty answers score F1 1), and with no-answer scores the best
/// threshold is searched as the script's <c>find_best_thresh</c> does. v1.1 (<c>evaluate-v1.1.py</c>, also HF
/// <c>evaluate</c>'s <c>squad</c>): every gold answer counts and two answers with no token in common score F1 0, empty
/// ones too; the two differ only for gold answers such as "The" that normalise to nothing.
/// </summary>
public static class SquadMetrics
{
    /// <summary>The script's <c>normalize_answer</c>.</summary>
    public static string Normalize(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var lower = PythonText.Lower(s);
        var noPunct = new StringBuilder(lower.Length);
        foreach (var c in lower)
        {
            // Python's string.punctuation: the ASCII punctuation characters only.
            if (!(char.IsAscii(c) && (char.IsPunctuation(c) || char.IsSymbol(c))))
            {
                noPunct.Append(c);
            }
        }
        return string.Join(' ', PythonText.Split(RemoveArticles(noPunct.ToString())));
    }

    // The script's re.sub(r'\b(a|an|the)\b', ' ', text) with Python's \b: such a match is a whole word, a maximal run of
    // the characters Python's \w matches (str.isalnum() or '_': letters and numbers by code point). .NET's \w also takes
    // combining marks and ZWJ/ZWNJ but not numbers such as '²', and sees a surrogate pair as two non-word halves, so
    // "a²" lost its "a" and "thé" written with a combining accent kept its "the".
    private static string RemoveArticles(string text)
    {
        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && PythonText.IsWordChar(text, i, out var width))
            {
                i += width;
            }
            if (i > start)
            {
                var word = text[start..i];
                result.Append(word is "a" or "an" or "the" ? " " : word);
                continue;
            }
            result.Append(text[i]);
            i++;
        }
        return result.ToString();
    }

    /// <summary>1 when the normalised texts are equal, else 0 (<c>compute_exact</c>).</summary>
    public static double ExactMatch(string gold, string prediction) => Normalize(gold) == Normalize(prediction) ? 1 : 0;

    /// <summary>Token-overlap F1 of the normalised texts (v2.0's <c>compute_f1</c>); two empty answers score 1, one empty 0.</summary>
    public static double F1(string gold, string prediction) => F1(gold, prediction, version2: true);

    // v1.1's f1_score has no empty-answer rule: no token in common scores 0, two empty answers included.
    private static double F1(string gold, string prediction, bool version2)
    {
        var g = Tokens(gold);
        var p = Tokens(prediction);
        if (version2 && (g.Length == 0 || p.Length == 0))
        {
            return g.Length == p.Length ? 1 : 0;
        }
        var counts = g.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.Count(), StringComparer.Ordinal);
        var same = 0;
        foreach (var t in p)
        {
            if (counts.TryGetValue(t, out var n) && n > 0)
            {
                counts[t] = n - 1;
                same++;
            }
        }
        if (same == 0)
        {
            return 0;
        }
        var precision = (double)same / p.Length;
        var recall = (double)same / g.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The gold answers a prediction is scored against: the non-empty ones after normalisation, or [""] when there are none.</summary>
    public static IReadOnlyList<string> GoldAnswers(IEnumerable<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var kept = answers.Where(a => Normalize(a).Length > 0).ToList();
        return kept.Count > 0 ? kept : [""];
    }

    /// <summary>
    /// Scores predictions: the answer is "" when its <see cref="SquadPrediction.NullScoreDiff"/> exceeds
    /// <paramref name="nullScoreDiffThreshold"/>, else the best span; the best thresholds are searched over the null-score
    /// differences (the script's <c>na_prob</c>s) with those answers, as the script run on them and the differences does.
    /// </summary>
    /// <param name="golds">Gold answer texts per question (empty for unanswerable).</param>
    /// <param name="predictions">The model's answer per question, same order.</param>
    /// <param name="nullScoreDiffThreshold">Above this difference the model answers "no answer".</param>
    /// <param name="version2">
    /// SQuAD v2.0's rules (default); false: v1.1's, where every question has a gold answer, the best span is always the
    /// answer (the threshold is not used), and the v2.0-only scores are NaN.
    /// </param>
    /// <exception cref="ArgumentException">
    /// The counts of questions and predictions differ, or there are none: exact match and F1 of no question have no value;
    /// or a question's list of gold answers, a gold answer or a predicted answer is null.
    /// </exception>
    public static SquadScores Evaluate(IReadOnlyList<IReadOnlyList<string>> golds, IReadOnlyList<SquadPrediction> predictions, double nullScoreDiffThreshold,
        bool version2 = true)
    {
        ArgumentNullException.ThrowIfNull(golds);
        ArgumentNullException.ThrowIfNull(predictions);
        if (golds.Count != predictions.Count)
        {
            throw new ArgumentException(Invariant($"expected one prediction per question: golds has {golds.Count} questions, predictions {predictions.Count}."), nameof(predictions));
        }
        ClassificationMetrics.RequirePredictions(predictions.Count, nameof(predictions));
        CheckAnswers(golds, predictions);
        if (!version2)
        {
            return EvaluateV1(golds, predictions);
        }
        var n = golds.Count;
        // The script's qid_to_has_ans is bool(qa['answers']): a question with answers is answerable even when they all
        // normalise to "" (a gold answer "The"), and it then scores 0, not 1, when the model says "no answer".
        var hasAns = golds.Select(g => g.Count > 0).ToArray();
        // The script's get_raw_scores scores preds[qid], the answer written to predictions.json: "" where the model
        // abstained at this threshold, not its best span. find_best_thresh searches over these same raw scores, so
        // best_exact and best_f1 are what the script computes from BertSharp's own predictions and null odds.
        var answers = new string[n];
        var rawExact = new double[n];
        var rawF1 = new double[n];
        var exact = new double[n];
        var f1 = new double[n];
        for (var i = 0; i < n; i++)
        {
            var gold = GoldAnswers(golds[i]);
            var noAnswer = predictions[i].NullScoreDiff > nullScoreDiffThreshold;
            var answer = answers[i] = noAnswer ? "" : predictions[i].BestAnswer;
            rawExact[i] = gold.Max(g => ExactMatch(g, answer));
            rawF1[i] = gold.Max(g => F1(g, answer));
            // apply_no_ans_threshold: "no answer" scores float(not has_ans), whatever the gold texts normalise to.
            exact[i] = noAnswer ? (hasAns[i] ? 0 : 1) : rawExact[i];
            f1[i] = noAnswer ? (hasAns[i] ? 0 : 1) : rawF1[i];
        }
        double Mean(double[] v, Func<int, bool> which)
        {
            var idx = Enumerable.Range(0, n).Where(which).ToList();
            return idx.Count == 0 ? double.NaN : 100.0 * idx.Average(i => v[i]);
        }
        var (bestExact, bestExactT) = BestThreshold(rawExact, hasAns, answers, predictions);
        var (bestF1, bestF1T) = BestThreshold(rawF1, hasAns, answers, predictions);
        var answerable = hasAns.Count(h => h);
        return new SquadScores(Mean(exact, _ => true), Mean(f1, _ => true), n, Mean(exact, i => hasAns[i]), Mean(f1, i => hasAns[i]), answerable,
            Mean(exact, i => !hasAns[i]), n - answerable, bestExact, bestExactT, bestF1, bestF1T);
    }

    // Checked up front: a null list failed with a NullReferenceException, and a null text with an ArgumentNullException
    // naming Normalize's parameter (s), which this method does not have.
    private static void CheckAnswers(IReadOnlyList<IReadOnlyList<string>> golds, IReadOnlyList<SquadPrediction> predictions)
    {
        for (var i = 0; i < golds.Count; i++)
        {
            var answers = golds[i] ?? throw new ArgumentException(Invariant($"question {i}'s gold answers are null; expected a list of answer texts (empty for an unanswerable question)."), nameof(golds));
            for (var j = 0; j < answers.Count; j++)
            {
                if (answers[j] is null)
                {
                    throw new ArgumentException(Invariant($"question {i} has a null gold answer at position {j}; expected an answer text."), nameof(golds));
                }
            }
            if (predictions[i].BestAnswer is null)
            {
                throw new ArgumentException(Invariant($"question {i}'s best answer is null; expected a text (\"\" when the model found no span)."), nameof(predictions));
            }
        }
    }

    private static SquadScores EvaluateV1(IReadOnlyList<IReadOnlyList<string>> golds, IReadOnlyList<SquadPrediction> predictions)
    {
        double exact = 0, f1 = 0;
        for (var i = 0; i < golds.Count; i++)
        {
            if (golds[i].Count == 0)
            {
                throw new ArgumentException(Invariant($"question {i} has no gold answer; expected at least one, as every SQuAD v1.1 question has."), nameof(golds));
            }
            var answer = predictions[i].BestAnswer;
            exact += golds[i].Max(g => ExactMatch(g, answer));
            f1 += golds[i].Max(g => F1(g, answer, version2: false));
        }
        var n = golds.Count;
        return new SquadScores(100.0 * exact / n, 100.0 * f1 / n, n, 100.0 * exact / n, 100.0 * f1 / n, n, double.NaN, 0, double.NaN, double.NaN, double.NaN, double.NaN);
    }

    /// <summary>
    /// The script's <c>find_best_thresh</c>: start with every question unanswered, then take their final answers (raw
    /// scores) in increasing order of their no-answer score, keeping the best total; an unanswerable question costs 1
    /// when its final answer is not "". Ties in the score are taken in question order (Python's stable sort).
    /// </summary>
    private static (double Score, double Threshold) BestThreshold(double[] raw, bool[] hasAns, string[] answers, IReadOnlyList<SquadPrediction> predictions)
    {
        var n = raw.Length;
        double current = hasAns.Count(h => !h);
        var best = current;
        var threshold = 0.0;
        foreach (var i in Enumerable.Range(0, n).OrderBy(i => predictions[i].NullScoreDiff))
        {
            current += hasAns[i] ? raw[i] : answers[i].Length > 0 ? -1 : 0;
            if (current > best)
            {
                best = current;
                threshold = predictions[i].NullScoreDiff;
            }
        }
        return (100.0 * best / n, threshold);
    }

    private static string[] Tokens(string s) => s.Length == 0 ? [] : Normalize(s).Split(' ', StringSplitOptions.RemoveEmptyEntries);

}
