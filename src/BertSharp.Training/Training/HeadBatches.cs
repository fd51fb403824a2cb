using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// A padded batch for a task head: the inputs ([batch, seq], or [batch, choices, seq] for multiple choice) and the targets
/// the head's loss takes.
/// </summary>
/// <param name="Input">Ids, attention mask and segment ids (int64).</param>
/// <param name="Labels">Token tags [batch, seq] with -100 = ignore, or the right choice [batch]; null for the QA head.</param>
/// <param name="StartPositions">QA answer start token [batch] ([CLS] = 0 for none); null for the other heads.</param>
/// <param name="EndPositions">QA answer end token [batch].</param>
/// <param name="Count">Examples (windows, questions) in the batch.</param>
/// <param name="Indices">Each row's index in the training data (keys its dropout in a data-parallel run); null when unknown.</param>
public sealed record HeadBatch(BertInput Input, Tensor? Labels, Tensor? StartPositions, Tensor? EndPositions, int Count, IReadOnlyList<int>? Indices = null)
{
    /// <summary>A rank's share of a global batch that gave it no example (a data-parallel run's last, short batch).</summary>
    public static HeadBatch Empty(Device? device = null)
    {
        var none = Batching.OnDevice(torch.zeros(0, 0, dtype: ScalarType.Int64), device);
        return new HeadBatch(new BertInput(none), null, null, null, 0, []);
    }
}

/// <summary>
/// The collators of the task heads: dynamic padding to the longest row of the batch, or to <c>minWidth</c> when that is
/// wider (a data-parallel rank pads its slice as one process pads the whole batch: the QA head's softmax runs over every
/// position, padding included, so its loss depends on the width).
/// </summary>
public static class HeadCollate
{
    /// <summary>Tagged sentences: ids [batch, seq] (padded with [PAD]), labels [batch, seq] padded with -100.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="indices"/> is empty or holds an index outside <paramref name="features"/>; or an encoding it picks is
    /// null, has null ids or labels, or has not one label per token.
    /// </exception>
    public static HeadBatch Tagged(IReadOnlyList<TaggedFeature> features, int[] indices, int padId, Device? device = null, int minWidth = 0)
    {
        var rows = Batching.Picked(features, indices, nameof(features));
        for (var r = 0; r < rows.Length; r++)
        {
            CheckTagged(rows[r], indices[r], nameof(features));
        }
        var input = Batching.Pad([.. rows.Select(r => r.InputIds)], [.. rows.Select(r => new int[r.Length])], padId, device, minWidth: minWidth);
        var width = (int)input.InputIds.shape[1];
        var labels = new long[rows.Length * width];
        Array.Fill(labels, Losses.IgnoreIndex);
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r].Labels.CopyTo(labels, r * width);
        }
        return new HeadBatch(input, Batching.OnDevice(torch.tensor(labels, [rows.Length, width]), device), null, null, rows.Length, indices);
    }

    // A row's labels are copied into the batch at its offset: more labels than tokens spilled into the next row's labels
    // (or, on the last row, failed with an ArgumentException naming nothing), and fewer silently left its last tokens out
    // of the loss. Every encoding reaches the model through this collation; evaluation also checks here before it runs one.
    // A null encoding, ids or labels failed with a NullReferenceException naming nothing.
    internal static void CheckTagged([System.Diagnostics.CodeAnalysis.NotNull] TaggedFeature? feature, int index, string parameter)
    {
        if (feature is null)
        {
            throw new ArgumentException(Invariant($"encoding {index} is null; expected a tagged sentence's encoding."), parameter);
        }
        if (feature.InputIds is null || feature.Labels is null)
        {
            throw new ArgumentException(Invariant($"encoding {index} has null {(feature.InputIds is null ? "InputIds" : "Labels")}; expected its token ids and one label per token."), parameter);
        }
        if (feature.Labels.Length != feature.Length)
        {
            throw new ArgumentException(Invariant($"encoding {index} has {feature.Labels.Length} labels for its {feature.Length} tokens; expected one label per token."), parameter);
        }
    }

    /// <summary>QA windows: their encodings padded, with the start and end positions [batch].</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="indices"/> is empty or holds an index outside <paramref name="features"/>; or a window it picks is null
    /// or has a null encoding.
    /// </exception>
    public static HeadBatch Windows(IReadOnlyList<QaFeature> features, int[] indices, int padId, Device? device = null, int minWidth = 0)
    {
        var rows = Batching.Picked(features, indices, nameof(features));
        for (var r = 0; r < rows.Length; r++)
        {
            if (rows[r]?.Encoding is null)
            {
                throw new ArgumentException(Invariant($"window {indices[r]} {(rows[r] is null ? "is null" : "has a null Encoding")}; expected a window and its encoding."), nameof(features));
            }
        }
        var input = Batching.Pad([.. rows.Select(r => r.Encoding)], padId, device, minWidth);
        return new HeadBatch(input, null,
            Batching.OnDevice(torch.tensor(rows.Select(r => (long)r.StartPosition).ToArray()), device),
            Batching.OnDevice(torch.tensor(rows.Select(r => (long)r.EndPosition).ToArray()), device), rows.Length, indices);
    }

    /// <summary>Multiple-choice questions: every choice of every question padded to one width, inputs [batch, choices, seq], labels [batch].</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="indices"/> is empty or holds an index outside <paramref name="features"/>; or a question it picks is
    /// null, has null choices or a null choice, has fewer than 2 choices, or has another number of choices than the first
    /// one picked.
    /// </exception>
    public static HeadBatch Choices(IReadOnlyList<ChoiceFeature> features, int[] indices, int padId, Device? device = null, int minWidth = 0)
    {
        var rows = Batching.Picked(features, indices, nameof(features));
        CheckChoices(rows, indices, nameof(features), " of the batch");
        return CheckedChoices(rows, indices, padId, device, minWidth);
    }

    /// <summary>The batch of <paramref name="rows"/>, questions that <see cref="CheckChoices"/> has passed, picked by <paramref name="indices"/>.</summary>
    internal static HeadBatch CheckedChoices(ChoiceFeature[] rows, int[] indices, int padId, Device? device = null, int minWidth = 0)
    {
        var choices = rows[0].Choices.Count;
        var flat = rows.SelectMany(r => r.Choices).ToArray();
        var p = Batching.PadArrays([.. flat.Select(e => (IReadOnlyList<int>)e.Ids)], [.. flat.Select(e => (IReadOnlyList<int>)e.TypeIds)], padId,
            [.. flat.Select(e => (IReadOnlyList<int>)e.AttentionMask)], minWidth);
        long[] dims = [rows.Length, choices, p.Width];
        var input = new BertInput(Batching.OnDevice(torch.tensor(p.Ids, dims), device), Batching.OnDevice(torch.tensor(p.Mask, dims), device),
            Batching.OnDevice(torch.tensor(p.Types, dims), device));
        return new HeadBatch(input, Batching.OnDevice(torch.tensor(rows.Select(r => r.Label).ToArray()), device), null, null, rows.Length, indices);
    }

    // The batch is shaped [questions, choices of the first, width]: a question with more choices put its last ones into the
    // next question's rows (or, on the last, failed in the tensor's shape naming nothing), one with fewer took the next's.
    // Evaluation checks all its questions here before it plans its batches, as whether questions of another count were
    // refused depended on length grouping putting them in a batch with the first.
    // where: what the first question is the first of ("" for all the questions).
    internal static void CheckChoices(IReadOnlyList<ChoiceFeature> rows, IReadOnlyList<int> indices, string parameter, string where)
    {
        for (var r = 0; r < rows.Count; r++)
        {
            var row = CheckQuestion(rows[r], indices[r], parameter);
            if (row.Choices.Count != rows[0].Choices.Count)
            {
                throw new ArgumentException(Invariant($"question {indices[r]} has {row.Choices.Count} choices; expected {rows[0].Choices.Count}, as question {indices[0]}{where} has."), parameter);
            }
        }
    }

    // A null question, choices or choice failed with a NullReferenceException naming nothing. No choice failed in its
    // length with an InvalidOperationException ("Sequence contains no elements"); one choice is the model's softmax over
    // one logit, always 1: always right, a loss of 0 and no gradient, so nothing to train or score (SwagData and
    // MultipleChoice.Predict ask for two as well).
    private static ChoiceFeature CheckQuestion(ChoiceFeature? question, int index, string parameter)
    {
        if (question?.Choices is null || question.Choices.Any(c => c is null))
        {
            var what = question is null ? "is null" : question.Choices is null ? "has null Choices" : "has a null choice";
            throw new ArgumentException(Invariant($"question {index} {what}; expected one encoding per choice."), parameter);
        }
        if (question.Choices.Count < 2)
        {
            throw new ArgumentException(Invariant($"question {index} has {(question.Choices.Count == 0 ? "no choices" : "one choice")}; expected at least 2 for the model to choose among."), parameter);
        }
        return question;
    }
}

/// <summary>
/// The training data of a task head: every epoch a fresh seeded shuffle of the examples into batches (grouped by length
/// like fine-tuning's unless told otherwise), <c>gradAccum</c> batches per optimizer step. In a data-parallel run every rank plans the same global
/// batches and collates only its slice (<see cref="DataSharding.Take{T}"/>), which may be empty, padded to the whole batch's
/// longest row.
/// </summary>
internal sealed class ShuffledBatches : ITrainingData<HeadBatch>
{
    private readonly EpochPlan _plan;
    private readonly IReadOnlyList<int> _lengths;
    private readonly Func<int[], int, HeadBatch> _collate;
    private readonly Func<HeadBatch> _empty;
    private readonly int _rank;
    private readonly int _worldSize;

    /// <param name="lengths">Tokens of every example (for length grouping).</param>
    /// <param name="batchSize">Examples per micro-batch.</param>
    /// <param name="gradAccum">Micro-batches per optimizer step.</param>
    /// <param name="bucketByLength">Group examples of similar length into batches (false: HF's group_by_length=False).</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <param name="collate">Builds the batch of the given example indices (never empty), padded to at least the given width.</param>
    /// <param name="empty">The batch of a rank whose slice of a global batch is empty.</param>
    /// <param name="rank">This rank in a data-parallel run.</param>
    /// <param name="worldSize">Ranks in the run.</param>
    public ShuffledBatches(IReadOnlyList<int> lengths, int batchSize, int gradAccum, bool bucketByLength, ulong seed, Func<int[], int, HeadBatch> collate, Func<HeadBatch> empty,
        int rank = 0, int worldSize = 1)
    {
        _lengths = lengths ?? throw new ArgumentNullException(nameof(lengths));
        _collate = collate ?? throw new ArgumentNullException(nameof(collate));
        _empty = empty ?? throw new ArgumentNullException(nameof(empty));
        _rank = rank;
        _worldSize = worldSize;
        _plan = new EpochPlan(lengths, batchSize, gradAccum, bucketByLength, seed);
    }

    /// <summary>The epoch arithmetic and shuffle position (what <see cref="FineTuneHooks"/> reads and a checkpoint records).</summary>
    internal EpochPlan Plan => _plan;

    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _plan.BatchesPerEpoch;

    /// <summary>Optimizer steps per epoch.</summary>
    public int StepsPerEpoch => _plan.StepsPerEpoch;

    public IReadOnlyList<Func<HeadBatch>> MicroBatches(long step) =>
        [.. _plan.BatchesOf(step).Select(ix => (Func<HeadBatch>)(() =>
        {
            var slice = _worldSize == 1 ? ix : [.. DataSharding.Take(ix, _rank, _worldSize)];
            return slice.Length == 0 ? _empty() : _collate(slice, ix.Max(i => _lengths[i]));
        }))];
}

/// <summary>
/// The training-task adapter of the token-classification, question-answering and multiple-choice heads: the head's own
/// HF loss on a <see cref="HeadBatch"/>; the step's loss is the mean of its micro-batches'. In a data-parallel run each rank
/// holds a slice of every micro-batch and returns its share of the micro-batch's loss: its mean × its weight / the weight
/// of the whole micro-batch (one all-reduce), where the weight is what the head's loss averages over (tagged tokens for
/// token classification, windows or questions for the others), so the ranks' shares add up to the loss one process computes.
/// </summary>
public sealed class HeadTrainingTask : ITrainingTask<HeadBatch>, IMicroBatchLosses
{
    private readonly Func<HeadBatch, Tensor?> _loss;
    private readonly Func<HeadBatch, long> _weight;
    private readonly long? _exampleDropoutSeed;
    private readonly LossShares _shares;

    private HeadTrainingTask(Func<HeadBatch, Tensor?> loss, Func<HeadBatch, long> weight, ICommunicator? communicator, long? exampleDropoutSeed)
    {
        _loss = loss;
        _weight = weight;
        _exampleDropoutSeed = exampleDropoutSeed;
        _shares = new LossShares(communicator);
    }

    /// <summary>Each micro-batch's loss of the last step (over all ranks).</summary>
    public IReadOnlyList<double> LastLosses => _shares.LastLosses;

    /// <summary>Each micro-batch's examples (sentences, windows, questions) of the last step (over all ranks).</summary>
    public IReadOnlyList<int> LastSizes => _shares.LastSizes;

    /// <summary>Cross-entropy over the tagged tokens (labels ≠ -100).</summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="communicator">The data-parallel group; one process when null.</param>
    /// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, example index) (<see cref="ExampleDropout"/>).</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor (<see cref="TrainingOptions.LabelSmoothing"/>), over the tagged tokens.</param>
    public static HeadTrainingTask TokenClassification(BertForTokenClassification model, ICommunicator? communicator = null, long? exampleDropoutSeed = null,
        double labelSmoothing = 0) =>
        new(b => Losses.Trainer(model.Forward(b.Input, b.Labels), b.Labels, labelSmoothing), TaggedTokens, communicator, exampleDropoutSeed);

    /// <summary>
    /// (CE(start) + CE(end)) / 2 over the windows. A data-parallel share weighs each window once, which is exact because every
    /// start and end position lies inside its own row (as <c>SquadData</c> makes them); HF ignores positions beyond a batch's
    /// width, and those would depend on the split.
    /// </summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="communicator">The data-parallel group; one process when null.</param>
    /// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, example index) (<see cref="ExampleDropout"/>).</param>
    public static HeadTrainingTask QuestionAnswering(BertForQuestionAnswering model, ICommunicator? communicator = null, long? exampleDropoutSeed = null) =>
        new(b => model.Forward(b.Input, b.StartPositions, b.EndPositions).Loss, b => b.Count, communicator, exampleDropoutSeed);

    /// <summary>Cross-entropy over the choices of each question.</summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="communicator">The data-parallel group; one process when null.</param>
    /// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, example index) (<see cref="ExampleDropout"/>).</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor (<see cref="TrainingOptions.LabelSmoothing"/>), over the choices.</param>
    public static HeadTrainingTask MultipleChoice(BertForMultipleChoice model, ICommunicator? communicator = null, long? exampleDropoutSeed = null,
        double labelSmoothing = 0) =>
        new(b => Losses.Trainer(model.Forward(b.Input, b.Labels), b.Labels, labelSmoothing), b => b.Count, communicator, exampleDropoutSeed);

    private static long TaggedTokens(HeadBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        return batch.Labels!.ne(StableScalars.Of(Losses.IgnoreIndex)).sum().item<long>();
    }

    /// <inheritdoc/>
    public Tensor? Loss(HeadBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _shares.Share(batch.Count == 0 ? 0 : _weight(batch), batch.Count, () =>
        {
            using var dropout = _exampleDropoutSeed is { } seed ? ExampleDropout.Use(seed, micro.Step, DropoutRows(batch)) : null;
            return _loss(batch) ?? throw new InvalidOperationException("training batch without targets");
        });
    }

    // The keys of the rows the model's dropout sees: one per example, or one per choice (the multiple-choice head scores
    // [batch·choices] rows), so that a choice's mask is the same whichever rank holds its question.
    private long[] DropoutRows(HeadBatch batch)
    {
        var indices = batch.Indices ?? throw new InvalidOperationException("example dropout needs the batch's example indices");
        var ids = batch.Input.InputIds;
        var rows = ids.dim() == 3 ? ids.shape[1] : 1;
        return [.. indices.SelectMany(i => Enumerable.Range(0, (int)rows).Select(c => (i * rows) + c))];
    }

    /// <inheritdoc/>
    public StepMetrics EndStep() => _shares.EndStep();
}
