using BertSharp.Data;
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
public sealed record HeadBatch(BertInput Input, Tensor? Labels, Tensor? StartPositions, Tensor? EndPositions, int Count);

/// <summary>The collators of the task heads: dynamic padding to the longest row of the batch.</summary>
public static class HeadCollate
{
    /// <summary>Tagged sentences: ids [batch, seq] (padded with [PAD]), labels [batch, seq] padded with -100.</summary>
    public static HeadBatch Tagged(IReadOnlyList<TaggedFeature> features, int[] indices, int padId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(indices);
        var rows = indices.Select(i => features[i]).ToArray();
        var input = Batching.Pad([.. rows.Select(r => r.InputIds)], [.. rows.Select(r => new int[r.Length])], padId, device);
        var width = (int)input.InputIds.shape[1];
        var labels = new long[rows.Length * width];
        Array.Fill(labels, Losses.IgnoreIndex);
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r].Labels.CopyTo(labels, r * width);
        }
        return new HeadBatch(input, Batching.OnDevice(torch.tensor(labels, [rows.Length, width]), device), null, null, rows.Length);
    }

    /// <summary>QA windows: their encodings padded, with the start and end positions [batch].</summary>
    public static HeadBatch Windows(IReadOnlyList<QaFeature> features, int[] indices, int padId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(indices);
        var rows = indices.Select(i => features[i]).ToArray();
        var input = Batching.Pad([.. rows.Select(r => r.Encoding)], padId, device);
        return new HeadBatch(input, null,
            Batching.OnDevice(torch.tensor(rows.Select(r => (long)r.StartPosition).ToArray()), device),
            Batching.OnDevice(torch.tensor(rows.Select(r => (long)r.EndPosition).ToArray()), device), rows.Length);
    }

    /// <summary>Multiple-choice questions: every choice of every question padded to one width, inputs [batch, choices, seq], labels [batch].</summary>
    public static HeadBatch Choices(IReadOnlyList<ChoiceFeature> features, int[] indices, int padId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(indices);
        var rows = indices.Select(i => features[i]).ToArray();
        var choices = rows[0].Choices.Count;
        var flat = rows.SelectMany(r => r.Choices).ToArray();
        var p = Batching.PadArrays([.. flat.Select(e => (IReadOnlyList<int>)e.Ids)], [.. flat.Select(e => (IReadOnlyList<int>)e.TypeIds)], padId,
            [.. flat.Select(e => (IReadOnlyList<int>)e.AttentionMask)]);
        long[] dims = [rows.Length, choices, p.Width];
        var input = new BertInput(Batching.OnDevice(torch.tensor(p.Ids, dims), device), Batching.OnDevice(torch.tensor(p.Mask, dims), device),
            Batching.OnDevice(torch.tensor(p.Types, dims), device));
        return new HeadBatch(input, Batching.OnDevice(torch.tensor(rows.Select(r => r.Label).ToArray()), device), null, null, rows.Length);
    }
}

/// <summary>
/// The training data of a task head: every epoch a fresh seeded shuffle of the examples into batches (grouped by length
/// like fine-tuning's), <c>gradAccum</c> batches per optimizer step.
/// </summary>
internal sealed class ShuffledBatches : ITrainingData<HeadBatch>
{
    private readonly EpochPlan _plan;
    private readonly Func<int[], HeadBatch> _collate;

    /// <param name="lengths">Tokens of every example (for length grouping).</param>
    /// <param name="batchSize">Examples per micro-batch.</param>
    /// <param name="gradAccum">Micro-batches per optimizer step.</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <param name="collate">Builds the batch of the given example indices.</param>
    public ShuffledBatches(IReadOnlyList<int> lengths, int batchSize, int gradAccum, ulong seed, Func<int[], HeadBatch> collate)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        _collate = collate ?? throw new ArgumentNullException(nameof(collate));
        _plan = new EpochPlan(lengths, batchSize, gradAccum, bucketByLength: true, seed);
    }

    /// <summary>The epoch arithmetic and shuffle position (what <see cref="FineTuneHooks"/> reads and a checkpoint records).</summary>
    internal EpochPlan Plan => _plan;

    /// <summary>Micro-batches per epoch.</summary>
    public int BatchesPerEpoch => _plan.BatchesPerEpoch;

    /// <summary>Optimizer steps per epoch.</summary>
    public int StepsPerEpoch => _plan.StepsPerEpoch;

    /// <summary>The 1-based epoch of a step.</summary>
    public int EpochOf(long step) => _plan.EpochOf(step);

    /// <summary>The index in its epoch of the first micro-batch of a step.</summary>
    public int FirstBatchOf(long step) => _plan.FirstBatchOf(step);

    /// <summary>Whether a step is the last of its epoch.</summary>
    public bool IsEpochEnd(long step) => _plan.IsEpochEnd(step);

    public IReadOnlyList<Func<HeadBatch>> MicroBatches(long step) =>
        [.. _plan.BatchesOf(step).Select(ix => (Func<HeadBatch>)(() => _collate(ix)))];
}

/// <summary>
/// The training-task adapter of the token-classification, question-answering and multiple-choice heads: the head's own
/// HF loss on a <see cref="HeadBatch"/>; the step's loss is the mean of its micro-batches'.
/// </summary>
public sealed class HeadTrainingTask : ITrainingTask<HeadBatch>, IMicroBatchLosses
{
    private readonly Func<HeadBatch, Tensor?> _loss;
    private readonly List<double> _losses = [];
    private readonly List<int> _sizes = [];

    private HeadTrainingTask(Func<HeadBatch, Tensor?> loss) => _loss = loss;

    /// <summary>Each micro-batch's loss of the last step.</summary>
    public IReadOnlyList<double> LastLosses { get; private set; } = [];

    /// <summary>Each micro-batch's examples (sentences, windows, questions) of the last step.</summary>
    public IReadOnlyList<int> LastSizes { get; private set; } = [];

    /// <summary>Cross-entropy over the tagged tokens (labels ≠ -100).</summary>
    public static HeadTrainingTask TokenClassification(BertForTokenClassification model) =>
        new(b => model.Forward(b.Input, b.Labels).Loss);

    /// <summary>(CE(start) + CE(end)) / 2 over the windows.</summary>
    public static HeadTrainingTask QuestionAnswering(BertForQuestionAnswering model) =>
        new(b => model.Forward(b.Input, b.StartPositions, b.EndPositions).Loss);

    /// <summary>Cross-entropy over the choices of each question.</summary>
    public static HeadTrainingTask MultipleChoice(BertForMultipleChoice model) =>
        new(b => model.Forward(b.Input, b.Labels).Loss);

    public Tensor Loss(HeadBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var loss = _loss(batch) ?? throw new InvalidOperationException("training batch without targets");
        var value = loss.to(torch.float64).cpu().item<double>();
        _losses.Add(value);
        _sizes.Add(batch.Count);
        return loss;
    }

    public StepMetrics EndStep()
    {
        LastLosses = [.. _losses];
        LastSizes = [.. _sizes];
        _losses.Clear();
        _sizes.Clear();
        return new StepMetrics(LastLosses.Average(), new Dictionary<string, double>());
    }
}
