using BertSharp.Data;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// Fine-tuning's task adapter: a padded batch of examples through <see cref="BertForSequenceClassification"/> with labels
/// gives HF's loss (cross-entropy over the classes, or MSE for regression); the step's loss is the mean of its
/// micro-batches' losses.
/// </summary>
public sealed class ClassificationTask(BertForSequenceClassification model) : ITrainingTask<TensorBatch>
{
    private readonly List<double> _losses = [];
    private readonly List<int> _sizes = [];

    /// <summary>Each micro-batch's loss of the last step, in order.</summary>
    public IReadOnlyList<double> LastLosses { get; private set; } = [];

    /// <summary>Each micro-batch's example count of the last step, in order.</summary>
    public IReadOnlyList<int> LastSizes { get; private set; } = [];

    public Tensor Loss(TensorBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var output = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels);
        var loss = output.Loss ?? throw new InvalidOperationException("training batch without labels");
        var value = loss.to(torch.float64).cpu().item<double>();
        if (!double.IsFinite(value))
        {
            throw new BertSharpException(
                $"the training loss became {value} at step {micro.Step}; lower {BertSharpException.Field("learning_rate")} or check the labels.");
        }
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
