using System.Text.Json.Nodes;
using BertSharp.Evaluation;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Evaluation;

/// <summary>seqeval (default mode) and the official SQuAD v2.0 script's scores on cases worked out by hand.</summary>
public class HeadMetricsTests
{
    private static IReadOnlyList<IReadOnlyList<string>> S(params string[] sentences) =>
        [.. sentences.Select(s => (IReadOnlyList<string>)s.Split(' '))];

    [Fact]
    public void Seqeval_scores_the_metric_cards_example()
    {
        // HF's seqeval metric card: MISC is predicted one word early (wrong span), PER exactly right.
        var truth = S("O O O B-MISC I-MISC I-MISC O", "B-PER I-PER O");
        var predicted = S("O O B-MISC I-MISC I-MISC I-MISC O", "B-PER I-PER O");
        var r = SeqevalMetrics.Evaluate(truth, predicted);
        Assert.Equal(0.5, r.Micro.Precision, 12);
        Assert.Equal(0.5, r.Micro.Recall, 12);
        Assert.Equal(0.5, r.Micro.F1, 12);
        Assert.Equal(0.8, r.Accuracy, 12); // 8 of 10 tags
        Assert.Equal(new EntityScores(0, 0, 0, 1) { Predicted = 1 }, r.PerType["MISC"]);
        Assert.Equal(new EntityScores(1, 1, 1, 1) { Predicted = 1 }, r.PerType["PER"]);
        Assert.Equal(2, r.Micro.Predicted);
        Assert.Null(BertSharp.Cli.Commands.HeadTaskCli.UndefinedPrecisionRecall("d.txt", r));
    }

    [Fact]
    public void Seqeval_reads_iob1_and_iob2_as_its_default_mode_does()
    {
        // IOB1: an entity may start with I-; B- only separates two adjacent entities of one type.
        Assert.Equal([new EntityChunk("PER", 0, 1), new EntityChunk("LOC", 3, 3), new EntityChunk("LOC", 4, 4)],
            SeqevalMetrics.Entities("I-PER I-PER O I-LOC B-LOC".Split(' ')));
        // A type change ends the entity even without B-; an I- after O starts one.
        Assert.Equal([new EntityChunk("PER", 0, 0), new EntityChunk("LOC", 1, 2)], SeqevalMetrics.Entities("B-PER I-LOC I-LOC".Split(' ')));
        Assert.Equal([new EntityChunk("ORG", 1, 1)], SeqevalMetrics.Entities("O I-ORG O".Split(' ')));
        // IOBES / IOE tags end chunks at E- and S-.
        Assert.Equal([new EntityChunk("PER", 0, 1), new EntityChunk("PER", 2, 2)], SeqevalMetrics.Entities("B-PER E-PER S-PER".Split(' ')));
    }

    [Fact]
    public void Seqeval_does_not_join_entities_across_sentences()
    {
        // An O goes between sentences: I-PER at the start of the second sentence is a new entity.
        var truth = S("O B-PER", "I-PER O");
        var joined = S("O B-PER", "O O");
        var r = SeqevalMetrics.Evaluate(truth, joined);
        Assert.Equal(2, r.Micro.Support);
        Assert.Equal(1.0, r.Micro.Precision, 12);
        Assert.Equal(0.5, r.Micro.Recall, 12);
        Assert.Equal(2.0 / 3.0, r.Micro.F1, 12);
        Assert.Equal(0.75, r.Accuracy, 12);
    }

    [Fact]
    public void Seqeval_scores_a_zero_denominator_zero_and_bert_evaluate_says_which()
    {
        const string Undefined = "undefined (a zero denominator), counted as 0 as seqeval's zero_division default: ";
        // A barely trained model predicts no entity: precision 0/0, which without a word reads as every entity wrong.
        var none = SeqevalMetrics.Evaluate(S("B-PER O"), S("O O"));
        Assert.Equal(new EntityScores(0, 0, 0, 1), none.Micro);
        Assert.Equal(Undefined + "the precision overall and of every type (the model predicted no entity); their f1 is 0 as well.",
            BertSharp.Cli.Commands.HeadTaskCli.UndefinedPrecisionRecall("d.txt", none));
        // PER right, LOC in the data but never predicted, MISC predicted but not in the data.
        var some = SeqevalMetrics.Evaluate(S("B-PER O B-LOC O"), S("B-PER O O B-MISC"));
        Assert.Equal(new EntityScores(0, 0, 0, 1), some.PerType["LOC"]);
        Assert.Equal(new EntityScores(0, 0, 0, 0) { Predicted = 1 }, some.PerType["MISC"]);
        Assert.Equal(Undefined + "the precision of 'LOC' (the model predicted no entity of that type), the recall of 'MISC' (d.txt has no entity of that type); their f1 is 0 as well.",
            BertSharp.Cli.Commands.HeadTaskCli.UndefinedPrecisionRecall("d.txt", some));
        // The types and the path are the user's data: shown on one line, escapes written out rather than sent to the terminal.
        var odd = SeqevalMetrics.Evaluate(S("B-PER O B-LO\nC O"), S("B-PER O O B-MI\u001b[31mSC"));
        Assert.Equal(Undefined + "the precision of 'LO C' (the model predicted no entity of that type), the recall of 'MI\\x1b[31mSC' (runs/a b.txt has no entity of that type); their f1 is 0 as well.",
            BertSharp.Cli.Commands.HeadTaskCli.UndefinedPrecisionRecall("runs/a\r\nb.txt", odd));
        // bert finetune reads its final report back from the kept checkpoint's metrics.json: the predicted counts survive it,
        // and the warning names the validation data.
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("metrics.json");
        MetricsReport.ForTagging(new TaggingEvaluation(some, 0.5, [], 0), 2).Save(path);
        var saved = MetricsReport.Load(path);
        Assert.Equal(some.PerType.ToArray(), saved.Entities!.PerType.ToArray());
        Assert.Equal(some.Micro, saved.Entities.Micro);
        Assert.Equal("the final model's validation: " + Undefined + "the precision of 'LOC' (the model predicted no entity of that type), "
            + "the recall of 'MISC' (the validation data has no entity of that type); their f1 is 0 as well.",
            new BertSharp.Cli.Commands.FinetuneProgressView(BertSharp.Training.HeadTask.TokenClassification).FinalWarning(saved, 2));
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"MISC\": 1", "\"MISC\": -1", StringComparison.Ordinal));
        Assert.Equal($"{path}: not a metrics file (\"predicted_entities.MISC\" is -1, not a count).",
            Assert.Throws<BertSharpException>(() => MetricsReport.Load(path)).Message);
        // No entity in the data and none predicted: no type to name.
        Assert.Equal(Undefined + "the precision (the model predicted no entity), the recall (d.txt has no entity); their f1 is 0 as well.",
            BertSharp.Cli.Commands.HeadTaskCli.UndefinedPrecisionRecall("d.txt", SeqevalMetrics.Evaluate(S("O O"), S("O O"))));
    }

    [Theory]
    [InlineData("The Quick, brown fox!", "quick brown fox")]
    [InlineData("  an   Apple a day ", "apple day")]
    [InlineData("the theatre", "theatre")]
    [InlineData("U.S.A. (1990)", "usa 1990")]
    [InlineData("café—bar", "café—bar")] // only ASCII punctuation is removed, as Python's string.punctuation
    // Python's \b and str.split() (outputs of the script's normalize_answer under Python 3.11): a number such as '²' or '½'
    // is a word character, a combining mark or ZWJ is not, a letter beyond U+FFFF is one, and U+001F separates words.
    [InlineData("a² + b²", "a² b²")]
    [InlineData("the½", "the½")]
    [InlineData("the\u0301 end", "\u0301 end")]
    [InlineData("a\u200dx the", "\u200dx")]
    [InlineData("𝐀 the𝐚 a", "𝐀 the𝐚")]
    [InlineData("x\u001fy", "x y")]
    // Python's str.lower(): a capital sigma ending a word is 'ς' (accents and apostrophes skipped), and 'İ' is i + U+0307.
    [InlineData("ΟΔΥΣΣΕΥΣ.", "οδυσσευς")]
    [InlineData("ΣΑ Σ", "σα σ")]
    [InlineData("ΑΣ'Β ΑΣ\u0301 ΑΣ1 𝐀Σ", "ασβ ας\u0301 ας1 𝐀ς")]
    [InlineData("İSTANBUL", "i\u0307stanbul")]
    public void Squad_normalises_as_the_official_script(string text, string expected) =>
        Assert.Equal(expected, SquadMetrics.Normalize(text));

    [Fact]
    public void Squad_exact_match_and_f1_take_the_best_gold_answer()
    {
        Assert.Equal(1.0, SquadMetrics.ExactMatch("The Eiffel Tower", "eiffel tower."));
        // gold [cat, sat], predicted [cat, sat, on]: precision 2/3, recall 1, F1 0.8.
        Assert.Equal(0.8, SquadMetrics.F1("the cat sat", "a cat sat on"), 12);
        // Repeated tokens count once each (Counter intersection): gold [a b b] vs [b b b] → 2 common.
        Assert.Equal(2 * (2.0 / 3) * (2.0 / 3) / (4.0 / 3), SquadMetrics.F1("x y y", "y y y"), 12);
        Assert.Equal(0.0, SquadMetrics.F1("paris", "london"));
        Assert.Equal(1.0, SquadMetrics.F1("", ""));
        Assert.Equal(0.0, SquadMetrics.F1("", "paris"));
        var scores = SquadMetrics.Evaluate([["Denver Broncos", "The Denver Broncos", "Broncos"]], [new SquadPrediction("broncos", -5)], 0);
        Assert.Equal(100.0, scores.Exact, 12);
        Assert.Equal(100.0, scores.F1, 12);
    }

    [Fact]
    public void Squad_v2_applies_the_null_threshold_and_finds_the_best_one()
    {
        // q1 answerable, right span, diff -1; q2 unanswerable, a span offered with diff 2; q3 answerable, right span, diff 0.5.
        IReadOnlyList<IReadOnlyList<string>> golds = [["paris"], [], ["rome"]];
        SquadPrediction[] predictions = [new("Paris", -1), new("london", 2), new("Rome", 0.5)];
        var at0 = SquadMetrics.Evaluate(golds, predictions, 0.0);
        // Threshold 0: q1 answered (right), q2 "no answer" (right), q3 "no answer" (wrong).
        Assert.Equal(200.0 / 3, at0.Exact, 9);
        Assert.Equal(200.0 / 3, at0.F1, 9);
        Assert.Equal(50.0, at0.HasAnsExact, 9);
        Assert.Equal(100.0, at0.NoAnsExact, 9);
        // find_best_thresh scores the final answers (q3's is "" at threshold 0, not "Rome"): all unanswered = 1/3; answer
        // q1 → 2/3 (thresh -1); q3 ("") → 2/3; q2 ("") → 2/3.
        Assert.Equal(200.0 / 3, at0.BestExact, 9);
        Assert.Equal(-1.0, at0.BestExactThreshold, 12);
        Assert.Equal(200.0 / 3, at0.BestF1, 9);
        Assert.Equal(-1.0, at0.BestF1Threshold, 12);
        // At the best threshold the scores are the best ones.
        var atBest = SquadMetrics.Evaluate(golds, predictions, at0.BestF1Threshold);
        Assert.Equal(200.0 / 3, atBest.F1, 9);
        // At a threshold that answers q3 too, its span "Rome" is the final answer and the search reaches it.
        var at1 = SquadMetrics.Evaluate(golds, predictions, 1.0);
        Assert.Equal((100.0, 0.5), (at1.BestExact, at1.BestExactThreshold));
        // A threshold below every difference answers nothing: only the unanswerable question is right.
        Assert.Equal(100.0 / 3, SquadMetrics.Evaluate(golds, predictions, -10).Exact, 9);
    }

    [Fact]
    public void Squad_v2_best_scores_are_the_official_scripts_on_the_written_predictions_and_null_odds()
    {
        // evaluate-v2.0.py run on predictions.json (the span, or "" where the difference is above the threshold 0) and
        // null_odds.json (the differences), by hand:
        //   q1 gold Paris, "Paris" (-2): exact 1, F1 1.      q2 gold "the Eiffel Tower", abstains (1): "" → 0, 0.
        //   q3 unanswerable, "london" (-3): 0.               q4 unanswerable, abstains (3): "" → 1.
        //   q5 gold "big red dog", "red dog" (-0.5): exact 0, F1 2·1·(2/3)/(5/3) = 0.8.
        // exact 2/5, F1 2.8/5; HasAns exact 1/3, F1 1.8/3; NoAns 1/2.
        // find_best_thresh starts at num_no_ans = 2 and adds, by increasing difference, q3 -1 (answered though
        // unanswerable) → 1, q1 +1 → 2, q5 +0 / +0.8 → 2 / 2.8, q2 +0 (its final answer is "", though its best span
        // "Eiffel Tower" is right), q4 +0 (""): best_exact 2/5 at the initial 0.0, best_f1 2.8/5 at -0.5. Scoring best
        // spans instead gave 3/5 at 1 and 3.8/5 at 1, which the script never reports for these files.
        IReadOnlyList<IReadOnlyList<string>> golds = [["Paris"], ["the Eiffel Tower"], [], [], ["big red dog"]];
        SquadPrediction[] predictions = [new("Paris", -2), new("Eiffel Tower", 1), new("london", -3), new("rome", 3), new("red dog", -0.5)];
        var s = SquadMetrics.Evaluate(golds, predictions, 0.0);
        Assert.Equal(40.0, s.Exact, 9);
        Assert.Equal(56.0, s.F1, 9);
        Assert.Equal(100.0 / 3, s.HasAnsExact, 9);
        Assert.Equal(60.0, s.HasAnsF1, 9);
        Assert.Equal(50.0, s.NoAnsExact, 9);
        Assert.Equal((5, 3, 2), (s.Total, s.HasAnsTotal, s.NoAnsTotal));
        Assert.Equal(40.0, s.BestExact, 9);
        Assert.Equal(0.0, s.BestExactThreshold, 12);
        Assert.Equal(56.0, s.BestF1, 9);
        Assert.Equal(-0.5, s.BestF1Threshold, 12);
    }

    // null_odds.json for a question without any span: null stopped the official script, which sorts the odds (None < float
    // raises in Python 3); the largest double sorts last, as the infinite difference does, and round-trips through JSON.
    [Fact]
    public void Null_odds_of_a_question_without_a_span_are_a_number_the_official_script_can_sort()
    {
        Assert.Equal(double.MaxValue, Cli.Commands.HeadTaskCli.NullOdds(double.PositiveInfinity));
        Assert.Equal(-1.25, Cli.Commands.HeadTaskCli.NullOdds(-1.25));
        var written = new JsonObject { ["q"] = Cli.Commands.HeadTaskCli.NullOdds(double.PositiveInfinity) }.ToJsonString();
        Assert.Equal(double.MaxValue, JsonNode.Parse(written)!["q"]!.GetValue<double>());
        Assert.Throws<BertSharpException>(() => Cli.Commands.HeadTaskCli.NullOdds(double.NaN));
    }

    [Theory]
    [InlineData(new[] { true, true }, "HasAns_exact,HasAns_f1,HasAns_total=2")]
    [InlineData(new[] { false, false }, "NoAns_exact,NoAns_f1,NoAns_total=2")]
    [InlineData(new[] { true, false }, "HasAns_exact,HasAns_f1,HasAns_total=1,NoAns_exact,NoAns_f1,NoAns_total=1")]
    public void Squad_v2_reports_has_ans_and_no_ans_scores_only_for_the_kinds_of_question_in_the_data(bool[] answerable, string expected)
    {
        // As evaluate-v2.0.py, which merges HasAns_* only if has_ans_qids and NoAns_* only if no_ans_qids: a score over
        // no question is left out, not reported as null / n/a; so are the counts it merges with them (make_eval_dict's total).
        IReadOnlyList<IReadOnlyList<string>> golds = [.. answerable.Select(a => (IReadOnlyList<string>)(a ? ["paris"] : []))];
        SquadPrediction[] predictions = [.. answerable.Select(_ => new SquadPrediction("paris", -1))];
        var e = new QaEvaluation(SquadMetrics.Evaluate(golds, predictions, 0.0), predictions, Version2: true, Threshold: 0.0);
        var keys = e.Values().Select(kv => kv.Key.EndsWith("_total", StringComparison.Ordinal) ? $"{kv.Key}={kv.Value}" : kv.Key).ToList();
        Assert.Equal(expected, string.Join(',', keys.Where(k => k.StartsWith("HasAns_", StringComparison.Ordinal) || k.StartsWith("NoAns_", StringComparison.Ordinal))));
        Assert.Equal(2.0, e.Values().Single(kv => kv.Key == "total").Value);
        Assert.All(e.Values(), kv => Assert.False(double.IsNaN(kv.Value), kv.Key));
    }

    [Fact]
    public void Bert_evaluate_on_squad_v2_data_without_unanswerable_questions_prints_and_saves_no_no_ans_scores()
    {
        using var tmp = TestPaths.TempDir();
        var squad = tmp.File("dev\u001b[31m\u202e.json");
        File.WriteAllText(squad, """
            {"version": "v2.0", "data": [{"paragraphs": [{"context": "Anna lives in Paris.",
              "qas": [{"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 14}]}]}]}]}
            """);
        var metrics = tmp.File("m\u202e.json");
        var r = CliRunner.Run("evaluate", "--model", HfFixture.Dir("question-answering"), "--task", "squad", "--data", squad, "--output", metrics);
        Assert.True(r.ExitCode == 0, r.StdErr);
        // The data's and the output's paths are shown as data: the escape drove the terminal, U+202E reversed the line.
        Assert.StartsWith($"{tmp.File("dev\\x1b[31m\\u202e.json")}: 1 examples, task squad, ", r.StdOut, StringComparison.Ordinal);
        Assert.Contains($"\nwrote {tmp.File("m\\u202e.json")}\nwrote {tmp.File("m\\u202e.predictions.json")}\n", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(r.StdOut, c => c is '\u001b' or '\u202e');
        Assert.Contains("HasAns_exact", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("NoAns", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("n/a", r.StdOut, StringComparison.Ordinal);
        // The counts print as counts: as scores they read "1.0000", a percentage.
        Assert.Matches(@"\btotal\s*│\s*1\s*│", r.StdOut);
        Assert.Matches(@"HasAns_total\s*│\s*1\s*│", r.StdOut);
        var saved = JsonNode.Parse(File.ReadAllText(metrics))!["metrics"]!.AsObject();
        Assert.True(saved.ContainsKey("HasAns_f1") && saved.ContainsKey("best_f1"), saved.ToJsonString());
        Assert.Equal((1, 1), ((int)saved["total"]!, (int)saved["HasAns_total"]!));
        Assert.False(saved.ContainsKey("NoAns_exact") || saved.ContainsKey("NoAns_f1") || saved.ContainsKey("NoAns_total"), saved.ToJsonString());
    }

    [Fact]
    public void Squad_v2_a_question_with_answers_is_answerable_even_if_they_normalise_to_nothing()
    {
        // Official script: has_ans = bool(qa['answers']) = True for answers ["The"]; gold_answers = [""] (normalised away).
        // Predicted "the" (diff -1): compute_exact("", "the") = 1, compute_f1 = 1 (both token lists empty) → HasAns 100.
        IReadOnlyList<IReadOnlyList<string>> golds = [["The"]];
        var answered = SquadMetrics.Evaluate(golds, [new SquadPrediction("the", -1)], 0);
        Assert.Equal(100.0, answered.Exact, 9);
        Assert.Equal(100.0, answered.HasAnsExact, 9);
        Assert.True(double.IsNaN(answered.NoAnsExact));
        // Threshold -10 says "no answer": apply_no_ans_threshold scores float(not has_ans) = 0.
        var unanswered = SquadMetrics.Evaluate(golds, [new SquadPrediction("the", -1)], -10);
        Assert.Equal(0.0, unanswered.Exact, 9);
        Assert.Equal(0.0, unanswered.F1, 9);
        // find_best_thresh: num_no_ans = 0, so the start is 0; answering adds the raw 1 → best 100 at threshold -1.
        Assert.Equal(100.0, unanswered.BestExact, 9);
        Assert.Equal(-1.0, unanswered.BestExactThreshold, 12);
    }

    [Fact]
    public void Squad_v1_scores_every_gold_answer_by_the_v1_1_script()
    {
        // evaluate-v1.1.py: exact_match and f1_score over every ground truth; f1_score is 0 when no token is shared, also for
        // two empty answers. Gold ["The", "the cat"] (normalised: "", "cat"), predicted "a" (normalised ""): exact 1 (""
        // equals ""), F1 0. The v2.0 rules drop the gold "The" first: exact 0, F1 0.
        IReadOnlyList<IReadOnlyList<string>> golds = [["The", "the cat"]];
        var v1 = SquadMetrics.Evaluate(golds, [new SquadPrediction("a", 3)], 0, version2: false);
        Assert.Equal((100.0, 0.0), (v1.Exact, v1.F1));
        var v2 = SquadMetrics.Evaluate(golds, [new SquadPrediction("a", 3)], double.PositiveInfinity);
        Assert.Equal((0.0, 0.0), (v2.Exact, v2.F1));
        // No span found (""), gold "The": v1.1 exact 1 and F1 0; v2.0 compares "" with "" and scores 1 and 1.
        var empty = SquadMetrics.Evaluate([["The"]], [new SquadPrediction("", double.PositiveInfinity)], 0, version2: false);
        Assert.Equal((100.0, 0.0), (empty.Exact, empty.F1));
        var emptyV2 = SquadMetrics.Evaluate([["The"]], [new SquadPrediction("", 0)], double.PositiveInfinity);
        Assert.Equal((100.0, 100.0), (emptyV2.Exact, emptyV2.F1));
        // v1.1 answers whatever the null score: a difference of 3 above threshold 0 still scores its span; the v2.0-only
        // scores are not defined.
        var answered = SquadMetrics.Evaluate([["Denver Broncos"]], [new SquadPrediction("broncos", 3)], 0, version2: false);
        Assert.Equal(100.0 * 2 * 0.5 / 1.5, answered.F1, 9);
        Assert.True(double.IsNaN(answered.BestF1) && double.IsNaN(answered.NoAnsExact));
        // In the other refusals' wording (what was expected), one sentence: it lacked both.
        var none = Assert.Throws<ArgumentException>("golds", () => SquadMetrics.Evaluate([[]], [new SquadPrediction("x", 0)], 0, version2: false));
        Assert.Equal("question 0 has no gold answer; expected at least one, as every SQuAD v1.1 question has. (Parameter 'golds')", none.Message);
    }
}
