using System.Text;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Evaluation;

/// <summary>The outcome of evaluating a token classifier on tagged sentences.</summary>
/// <param name="Scores">seqeval entity scores and token accuracy over the words the model saw.</param>
/// <param name="Loss">
/// HF Trainer's <c>eval_loss</c>: each batch's mean cross-entropy over its labelled tokens, weighted by the batch's sentences
/// (Σ n_b · loss_b / Σ n_b), so it depends on the batch size.
/// </param>
/// <param name="Predicted">Predicted tag per word of each sentence (null for words cut off by the maximum length).</param>
/// <param name="CutWords">Words past the maximum length (left out of the scores, as HF run_ner does).</param>
public sealed record TaggingEvaluation(SeqevalReport Scores, double Loss, IReadOnlyList<string?[]> Predicted, int CutWords)
{
    // The tags as values, not type names: a user prints an evaluation.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Scores = {RecordText.Value(Scores)}, Loss = {Loss}, Predicted = {RecordText.List(Predicted)}, CutWords = {CutWords}"));
        return true;
    }

    /// <summary>The metrics as metrics.json names them: precision, recall, f1 (micro, entity level), accuracy (token), loss, and TYPE_precision / _recall / _f1 / _number per entity type.</summary>
    public IEnumerable<KeyValuePair<string, double>> Values()
    {
        yield return new("precision", Scores.Micro.Precision);
        yield return new("recall", Scores.Micro.Recall);
        yield return new("f1", Scores.Micro.F1);
        yield return new("accuracy", Scores.Accuracy);
        yield return new("loss", Loss);
        foreach (var (type, s) in Scores.PerType)
        {
            yield return new($"{type}_precision", s.Precision);
            yield return new($"{type}_recall", s.Recall);
            yield return new($"{type}_f1", s.F1);
            yield return new($"{type}_number", s.Support);
        }
    }
}

/// <summary>The outcome of evaluating a QA model on SQuAD questions.</summary>
/// <param name="Scores">Official SQuAD scores (percent).</param>
/// <param name="Predictions">The best span and its null-score difference per question.</param>
/// <param name="Version2">Whether the data are SQuAD v2.0 (the no-answer threshold applies and the v2.0 scores are reported).</param>
/// <param name="Threshold">The null-score difference threshold used.</param>
public sealed record QaEvaluation(SquadScores Scores, IReadOnlyList<SquadPrediction> Predictions, bool Version2, double Threshold)
{
    // The answers as values, not a type name, and the scores in the invariant culture.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Scores = {RecordText.Value(Scores)}, Predictions = {RecordText.List(Predictions)}, Version2 = {Version2}, Threshold = {Threshold}"));
        return true;
    }

    /// <summary>
    /// exact and f1 (percent, v1.1 and v2.0); for v2.0 also total (questions), HasAns_ scores and HasAns_total when some
    /// question is answerable, NoAns_ ones when some is not (as <c>evaluate-v2.0.py</c> leaves them out), best_exact,
    /// best_f1 and their thresholds. The <c>total</c> / <c>_total</c> keys are counts, not percentages.
    /// </summary>
    public IEnumerable<KeyValuePair<string, double>> Values()
    {
        yield return new("exact", Scores.Exact);
        yield return new("f1", Scores.F1);
        if (!Version2)
        {
            yield break;
        }
        yield return new("total", Scores.Total);
        // A mean over no question is NaN: the script has no such key, and a null / n/a read as a failed score.
        if (Scores.HasAnsTotal > 0)
        {
            yield return new("HasAns_exact", Scores.HasAnsExact);
            yield return new("HasAns_f1", Scores.HasAnsF1);
            yield return new("HasAns_total", Scores.HasAnsTotal);
        }
        if (Scores.NoAnsTotal > 0)
        {
            yield return new("NoAns_exact", Scores.NoAnsExact);
            // = NoAns_exact: an unanswerable question's F1 and exact match are both 1 for "" and 0 otherwise.
            yield return new("NoAns_f1", Scores.NoAnsExact);
            yield return new("NoAns_total", Scores.NoAnsTotal);
        }
        yield return new("best_exact", Scores.BestExact);
        yield return new("best_exact_thresh", Scores.BestExactThreshold);
        yield return new("best_f1", Scores.BestF1);
        yield return new("best_f1_thresh", Scores.BestF1Threshold);
        yield return new("null_score_diff_threshold", Threshold);
    }
}

/// <summary>The outcome of evaluating a multiple-choice model.</summary>
/// <param name="Accuracy">Fraction of questions whose highest-scoring choice is the right one.</param>
/// <param name="Loss">HF Trainer's <c>eval_loss</c>: each batch's mean cross-entropy weighted by the batch's questions.</param>
/// <param name="Predicted">The chosen ending per question.</param>
/// <param name="Probabilities">Softmax over the choices per question.</param>
public sealed record ChoiceEvaluation(double Accuracy, double Loss, IReadOnlyList<int> Predicted, IReadOnlyList<double[]> Probabilities)
{
    // The choices and probabilities as values, not type names.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Accuracy = {Accuracy}, Loss = {Loss}, Predicted = {RecordText.List(Predicted)}, Probabilities = {RecordText.List(Probabilities)}"));
        return true;
    }

    /// <summary>accuracy and loss.</summary>
    public IEnumerable<KeyValuePair<string, double>> Values() => [new("accuracy", Accuracy), new("loss", Loss)];
}

/// <summary>
/// Evaluation of the task heads (the model in eval mode, no gradients, batches grouped by length unless told otherwise): token classification
/// with seqeval (the prediction of a word is its first piece's, HF run_ner's rule), question answering with the official
/// SQuAD scores (spans decoded by <see cref="AnswerDecoding"/> over every window of a question), multiple choice with
/// accuracy.
/// </summary>
public static class HeadEvaluation
{
    /// <summary>Scores a token classifier on sentences and their encoded features (same order).</summary>
    /// <param name="model">The token classifier.</param>
    /// <param name="sentences">The tagged sentences.</param>
    /// <param name="features">Their encodings.</param>
    /// <param name="labels">The model's tags in class-id order.</param>
    /// <param name="batchSize">Sentences per forward pass.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="strictScheme">seqeval's strict mode with this scheme; null for its default mode (<see cref="SeqevalMetrics.Evaluate"/>).</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor of the run that validates: its Trainer's evaluation loss is smoothed too (0: the head's own loss).</param>
    /// <param name="groupByLength">Batch the sentences by length (less padding, the default); false batches them in input order, as HF Trainer's SequentialSampler does without group_by_length, which is what HF's eval_loss is a mean over.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="sentences"/> is empty, or a sentence is null, has null words or tags, or has not one tag per word;
    /// <paramref name="features"/> does not hold one encoding per sentence, or one of them not one word start per word of its
    /// sentence or not one label per token; or <paramref name="labels"/> does not hold one tag per output of the model, or
    /// leaves a class without a name or names two classes alike.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// An encoding in <paramref name="features"/> has a word start that is neither a position after [CLS] below its length
    /// nor -1 (a word cut off), or a label id that is neither a class of the model nor the ignore index (-100).
    /// </exception>
    public static TaggingEvaluation Tagging(BertForTokenClassification model, IReadOnlyList<TaggedSentence> sentences, IReadOnlyList<TaggedFeature> features,
        IReadOnlyList<string> labels, int batchSize, int padId, Device device, SeqevalScheme? strictScheme = null, double labelSmoothing = 0,
        bool groupByLength = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        // Before the model runs, and by this method's name for them: seqeval's refusal names its own parameter (predicted).
        ClassificationMetrics.RequirePredictions(sentences.Count, nameof(sentences));
        CheckTagging(model, sentences, features, labels);
        var predicted = new string?[sentences.Count][];
        double lossSum = 0;
        model.eval();
        using (torch.no_grad())
        {
            foreach (var batch in Batching.PlanEvaluation([.. features.Select(f => f.Length)], batchSize, groupByLength))
            {
                using var scope = NewDisposeScope();
                var b = HeadCollate.Tagged(features, batch, padId, device);
                var output = model.Forward(b.Input, b.Labels);
                // HF's eval_loss (run_ner.py's Trainer): the batch's own mean over its labelled tokens, weighted by its
                // sentences as evaluation_loop repeats it per example, not by its labelled tokens.
                lossSum += Losses.Trainer(output, b.Labels, labelSmoothing)!.to(torch.float64).cpu().item<double>() * batch.Length;
                // argmax of NaN logits is a label like any other: broken weights must not score as "always O".
                NonFiniteOutputException.ThrowIfNotFinite(MixedPrecision.Float32(output.Logits).cpu().data<float>().ToArray(), "token logits");
                var best = output.Logits.argmax(-1).cpu().data<long>().ToArray();
                var width = (int)output.Logits.shape[1];
                for (var r = 0; r < batch.Length; r++)
                {
                    var s = batch[r];
                    predicted[s] = [.. features[s].WordStarts.Select(t => t < 0 ? null : labels[(int)best[(r * width) + t]])];
                }
            }
        }
        var truth = new List<IReadOnlyList<string>>();
        var pred = new List<IReadOnlyList<string>>();
        var cut = 0;
        for (var s = 0; s < sentences.Count; s++)
        {
            var kept = Enumerable.Range(0, sentences[s].Words.Count).Where(w => predicted[s][w] is not null).ToList();
            cut += sentences[s].Words.Count - kept.Count;
            truth.Add([.. kept.Select(w => sentences[s].Tags[w])]);
            pred.Add([.. kept.Select(w => predicted[s][w]!)]);
        }
        return new TaggingEvaluation(SeqevalMetrics.Evaluate(truth, pred, strictScheme), lossSum / sentences.Count, predicted, cut);
    }

    // Before the model runs, the slow part, and naming the parameter: these failed with a NullReferenceException or an
    // IndexOutOfRangeException that named nothing, mostly after it. A missing encoding failed on a sentence never predicted,
    // an extra one on an index past the sentences, an encoding of another word count on a word past its starts or its
    // sentence's tags, and fewer tags than the model's outputs on a predicted class past them (more are not its tags either).
    private static void CheckTagging(BertForTokenClassification model, IReadOnlyList<TaggedSentence> sentences, IReadOnlyList<TaggedFeature> features,
        IReadOnlyList<string> labels)
    {
        if (features.Count != sentences.Count)
        {
            throw new ArgumentException(Invariant($"expected one encoding per sentence: sentences has {sentences.Count}, features {features.Count}."), nameof(features));
        }
        var outputs = model.Config.NumLabels;
        if (labels.Count != outputs)
        {
            throw new ArgumentException(Invariant($"expected one tag per output of the model: labels has {labels.Count} tags, the model {outputs} outputs."), nameof(labels));
        }
        // seqeval reads the entities from the tag names and failed on an empty one only after the model had run; two classes
        // of one name were scored as one.
        if (TaggedCorpus.TagNameFault(labels) is { } fault)
        {
            throw new ArgumentException(fault, nameof(labels));
        }
        for (var s = 0; s < sentences.Count; s++)
        {
            var sentence = sentences[s] ?? throw new ArgumentException(Invariant($"sentence {s} is null; expected its words and tags."), nameof(sentences));
            if (sentence.Words is null || sentence.Tags is null)
            {
                throw new ArgumentException(Invariant($"sentence {s} has null {(sentence.Words is null ? "Words" : "Tags")}; expected its words and one tag per word."), nameof(sentences));
            }
            if (sentence.Tags.Count != sentence.Words.Count)
            {
                throw new ArgumentException(Invariant($"expected one tag per word: sentence {s} has {sentence.Words.Count} words, {sentence.Tags.Count} tags."), nameof(sentences));
            }
            CheckEncoding(features[s], s, sentence.Words.Count, outputs, nameof(features));
        }
    }

    // A word start at or past the encoding's length read the padding's logits or the next row's, or ran past the batch's;
    // any other negative one was taken for a word cut off (only -1 is), and 0 scored [CLS]'s logits as the word's, though
    // TokenLabelAlignment.Encode starts every word after [CLS].
    // A label id outside the model's outputs was refused only by the loss, in the batch that held it (after the batches
    // before it ran) and as a BertSharpException naming "labels", which is Tagging's list of tag names.
    // A null encoding is refused by the collation's check, which every encoding passes (CheckTagging refused it once before).
    private static void CheckEncoding(TaggedFeature? feature, int s, int words, int outputs, string parameter)
    {
        HeadCollate.CheckTagged(feature, s, parameter);
        if (feature.WordStarts is null)
        {
            throw new ArgumentException(Invariant($"encoding {s} has null WordStarts; expected one word start per word of sentence {s}."), parameter);
        }
        if (feature.WordStarts.Length != words)
        {
            throw new ArgumentException(Invariant($"expected the encoding of sentence {s} to hold one word start per word: the sentence has {words} words, its encoding {feature.WordStarts.Length}."), parameter);
        }
        for (var w = 0; w < feature.WordStarts.Length; w++)
        {
            var start = feature.WordStarts[w];
            if (start != -1 && (start < 1 || start >= feature.Length))
            {
                throw new ArgumentOutOfRangeException(parameter, Invariant($"word {w} of encoding {s} starts at position {start}; expected a position in [1, {feature.Length}) of its {feature.Length} tokens (0 is [CLS]), or -1 for a word cut off."));
            }
        }
        for (var t = 0; t < feature.Labels.Length; t++)
        {
            var label = feature.Labels[t];
            if (label != Losses.IgnoreIndex && (label < 0 || label >= outputs))
            {
                throw new ArgumentOutOfRangeException(parameter, Invariant($"token {t} of encoding {s} has label id {label}; expected one of the model's {outputs} class ids, [0, {outputs}), or {Losses.IgnoreIndex} for no label."));
            }
        }
    }

    /// <summary>
    /// Scores a QA model on SQuAD questions: every window of a question is run, the best span over all windows is its answer
    /// and <c>ln P(null) − ln P(best span)</c> its null-score difference, P(null) being the smallest [CLS]·[CLS] score of
    /// its windows (within one window the difference equals HF run_qa's <c>score_null − best_non_null</c> in logits).
    /// </summary>
    /// <param name="model">The QA model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="data">The questions with their contexts and answers.</param>
    /// <param name="maxLength">Tokens per window.</param>
    /// <param name="docStride">Context tokens shared by consecutive windows.</param>
    /// <param name="maxAnswerLength">Longest answer in tokens.</param>
    /// <param name="threshold">SQuAD v2.0: answer "no answer" when the null-score difference is above this.</param>
    /// <param name="batchSize">Windows per forward pass.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="groupByLength">Batch the windows by length (less padding, the default); false batches them in input order, as HF Trainer's SequentialSampler does without group_by_length, which is what HF's eval_loss is a mean over.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has no questions.</exception>
    public static QaEvaluation QuestionAnswering(BertForQuestionAnswering model, BertTokenizer tokenizer, SquadDataset data, int maxLength, int docStride,
        int maxAnswerLength, double threshold, int batchSize, Device device, bool groupByLength = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(data);
        // SQuAD's refusal would name its own parameter (predictions), after every window was encoded.
        ClassificationMetrics.RequirePredictions(data.Examples.Count, nameof(data));
        var windows = new List<(int Example, BertEncoding Encoding)>();
        for (var i = 0; i < data.Examples.Count; i++)
        {
            windows.AddRange(QaWindowing.Windows(tokenizer, data.Examples[i].Question, data.Examples[i].Context, maxLength, docStride).Select(w => (i, w)));
        }
        var best = new (double Score, string Text)[data.Examples.Count];
        var minNull = Enumerable.Repeat(double.MaxValue, data.Examples.Count).ToArray();
        model.eval();
        using (torch.no_grad())
        {
            foreach (var batch in Batching.PlanEvaluation([.. windows.Select(w => w.Encoding.Length)], batchSize, groupByLength))
            {
                using var scope = NewDisposeScope();
                var encodings = batch.Select(b => windows[b].Encoding).ToArray();
                var output = model.Forward(Batching.Pad(encodings, tokenizer.PadId, device));
                var width = (int)output.StartLogits.shape[1];
                var start = MixedPrecision.Float32(output.StartLogits).cpu().data<float>().ToArray();
                var end = MixedPrecision.Float32(output.EndLogits).cpu().data<float>().ToArray();
                NonFiniteOutputException.ThrowIfNotFinite(start, "start logits");
                NonFiniteOutputException.ThrowIfNotFinite(end, "end logits");
                for (var r = 0; r < batch.Length; r++)
                {
                    var (ex, e) = windows[batch[r]];
                    var allowed = QaWindowing.AnswerTokens(e);
                    var (ps, pe, nullScore) = AnswerDecoding.Probabilities(start[(r * width)..((r * width) + e.Length)], end[(r * width)..((r * width) + e.Length)],
                        allowed, Array.IndexOf(e.SpecialTokensMask, 1));
                    minNull[ex] = Math.Min(minNull[ex], nullScore);
                    foreach (var span in AnswerDecoding.BestSpans(ps, pe, allowed, 1, maxAnswerLength))
                    {
                        if (best[ex].Text is null || span.Score > best[ex].Score)
                        {
                            var context = data.Examples[ex].Context;
                            best[ex] = (span.Score, context[e.Utf16Offsets[span.StartToken].Start..e.Utf16Offsets[span.EndToken].End]);
                        }
                    }
                }
            }
        }
        var predictions = new SquadPrediction[data.Examples.Count];
        for (var i = 0; i < predictions.Length; i++)
        {
            predictions[i] = best[i].Text is null
                ? new SquadPrediction("", double.PositiveInfinity)
                : new SquadPrediction(best[i].Text, Math.Log(minNull[i]) - Math.Log(best[i].Score));
        }
        var golds = data.Examples.Select(e => (IReadOnlyList<string>)[.. e.Answers.Select(a => a.Text)]).ToList();
        // v1.1 has no unanswerable questions: the best span is always the answer, scored by the v1.1 script's rules.
        return new QaEvaluation(SquadMetrics.Evaluate(golds, predictions, threshold, data.Version2), predictions, data.Version2, threshold);
    }

    /// <summary>Scores a multiple-choice model on encoded questions (labels required).</summary>
    /// <param name="model">The multiple-choice model.</param>
    /// <param name="features">The encoded questions with their answers.</param>
    /// <param name="batchSize">Questions per forward pass.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor of the run that validates: its Trainer's evaluation loss is smoothed too (0: the head's own loss).</param>
    /// <param name="groupByLength">Batch the questions by length (less padding, the default); false batches them in input order, as HF Trainer's SequentialSampler does without group_by_length, which is what HF's eval_loss is a mean over.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="features"/> is empty, or a question of it is null, has null choices or a null choice, has fewer than 2
    /// choices, or has another number of choices than the first.
    /// </exception>
    public static ChoiceEvaluation MultipleChoice(BertForMultipleChoice model, IReadOnlyList<ChoiceFeature> features, int batchSize, int padId, Device device,
        double labelSmoothing = 0, bool groupByLength = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        // An accuracy and a loss of no question were 0 / 0, NaN: shown as n/a, as if the model's outputs had not been finite.
        ClassificationMetrics.RequirePredictions(features.Count, nameof(features));
        // All of them before the batches are planned by the questions' lengths, which a null question or choice failed to
        // give before collation could refuse it; and collation refused another number of choices only within a batch.
        HeadCollate.CheckChoices(features, [.. Enumerable.Range(0, features.Count)], nameof(features), "");
        var predicted = new int[features.Count];
        var probabilities = new double[features.Count][];
        double lossSum = 0;
        model.eval();
        using (torch.no_grad())
        {
            foreach (var batch in Batching.PlanEvaluation([.. features.Select(f => f.Length)], batchSize, groupByLength))
            {
                using var scope = NewDisposeScope();
                var b = HeadCollate.CheckedChoices([.. batch.Select(i => features[i])], batch, padId, device);
                var output = model.Forward(b.Input, b.Labels);
                lossSum += Losses.Trainer(output, b.Labels, labelSmoothing)!.to(torch.float64).cpu().item<double>() * batch.Length;
                var choices = (int)output.Logits.shape[1];
                var logits = MixedPrecision.Float32(output.Logits).cpu().data<float>().ToArray();
                NonFiniteOutputException.ThrowIfNotFinite(logits, "choice logits");
                for (var r = 0; r < batch.Length; r++)
                {
                    var p = ScoreMath.Softmax(logits[(r * choices)..((r + 1) * choices)]);
                    probabilities[batch[r]] = p;
                    predicted[batch[r]] = Array.IndexOf(p, p.Max());
                }
            }
        }
        var right = Enumerable.Range(0, features.Count).Count(i => predicted[i] == features[i].Label);
        return new ChoiceEvaluation((double)right / features.Count, lossSum / features.Count, predicted, probabilities);
    }
}
