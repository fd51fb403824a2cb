using System.Text.Json.Nodes;
using BertSharp.Training;
using YamlDotNet.RepresentationModel;

namespace BertSharp.Tests.Training;

/// <summary>
/// The model card's formatting against HF transformers' modelcard.py: the expected strings are what its
/// <c>_maybe_round</c>, <c>make_markdown_table</c> and metric naming print for the same values (run with Python 3.11 on
/// the functions as released, copied out of transformers).
/// </summary>
public class ModelCardFormatTests
{
    [Theory]
    [InlineData(0.69314718, "0.6931")]
    [InlineData(0.625, "0.625")]
    [InlineData(1.0, "1.0")]
    [InlineData(1.5e-05, "0.0000")]
    [InlineData(2e-05, "2e-05")]
    [InlineData(double.NaN, "nan")]
    [InlineData(0.12345, "0.1235")]
    [InlineData(0.00012345, "0.0001")]
    [InlineData(123456.789012, "123456.7890")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.5e16, "15000000000000000.0000")]
    [InlineData(-2e17, "-2e+17")]
    [InlineData(1e300, "1e+300")]
    [InlineData(0.1, "0.1")]
    public void Numbers_are_rounded_as_maybe_round_does(double value, string expected) =>
        Assert.Equal(expected, ModelCardFormat.MaybeRound(value));

    // seqeval's TYPE_number and squad_v2's total / HasAns_total reach HF's log history as Python ints (denumpify_detensorize
    // turns numpy's int64 into int), which _maybe_round leaves to str(): "14", where a float 14.0 prints "14.0".
    [Theory]
    [InlineData("PER_number", 14.0, "14")]
    [InlineData("total", 3.0, "3")]
    [InlineData("HasAns_total", 0.0, "0")]
    [InlineData("PER_f1", 1.0, "1.0")]
    [InlineData("accuracy", 14.0, "14.0")]
    [InlineData("f1", 0.123456, "0.1235")]
    public void Counts_print_as_the_ints_hf_logs_them(string metric, double value, string expected) =>
        Assert.Equal(expected, ModelCardFormat.MaybeRound(metric, value));

    [Theory]
    [InlineData("2.10.0.0", "2.10.0")]
    [InlineData("2.5.1.1", "2.5.1")]
    [InlineData("2.10.0", "2.10.0")]
    public void Libtorch_is_named_by_torchs_three_part_version(string torchSharp, string expected) =>
        Assert.Equal(expected, ModelCardFormat.TorchVersion(torchSharp));

    [Theory]
    [InlineData("macro_f1", "Macro F1")]
    [InlineData("HasAns_exact", "Hasans Exact")]
    [InlineData("mcc", "Mcc")]
    [InlineData("loss", "Loss")]
    public void Metric_keys_are_named_as_parse_log_history_names_them(string key, string expected) =>
        Assert.Equal(expected, ModelCardFormat.MetricName(key));

    [Fact]
    public void The_table_is_make_markdown_tables()
    {
        IReadOnlyList<string>[] rows = [["No log", "1.0", "2", "0.6931", "0.5"], ["0.4123", "2.0", "4", "0.1235", "0.75"]];
        Assert.Equal(
            "| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n|:-------------:|:-----:|:----:|:---------------:|:--------:|\n"
            + "| No log        | 1.0   | 2    | 0.6931          | 0.5      |\n| 0.4123        | 2.0   | 4    | 0.1235          | 0.75     |\n",
            ModelCardFormat.MarkdownTable(["Training Loss", "Epoch", "Step", "Validation Loss", "Accuracy"], rows));
        Assert.Equal("", ModelCardFormat.MarkdownTable(["Training Loss"], []));
    }

    [Theory]
    [InlineData("bert-base-uncased")]
    [InlineData("google-bert/bert-base-uncased")]
    [InlineData("yes")]
    [InlineData("null")]
    [InlineData("1e-05")]
    [InlineData("a: b # c")]
    [InlineData("- [x]")]
    [InlineData("it's \"quoted\"\nand ünïcode")]
    public void A_yaml_string_reads_back_as_the_same_string(string value)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader("key: " + ModelCardFormat.YamlString(value) + "\n"));
        var scalar = (YamlScalarNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children[new YamlScalarNode("key")];
        Assert.Equal(value, scalar.Value);
        // Plain (unquoted) only where YAML 1.1 reads no boolean, null or number in it, as PyYAML would.
        Assert.Equal(value is "bert-base-uncased" or "google-bert/bert-base-uncased", scalar.Style == YamlDotNet.Core.ScalarStyle.Plain);
    }

    [Fact]
    public void A_token_classification_table_shows_entity_counts_as_ints()
    {
        var log = new JsonObject
        {
            ["type"] = "epoch", ["step"] = 3, ["epoch"] = 1, ["train_loss"] = 1.25,
            ["validation"] = new JsonObject { ["f1"] = 0.5, ["loss"] = 0.75, ["PER_f1"] = 1.0, ["PER_number"] = 14.0 },
        };
        Assert.Equal(
            "| Training Loss | Epoch | Step | Validation Loss | F1  | Per F1 | Per Number |\n|:-------------:|:-----:|:----:|:---------------:|:---:|:------:|:----------:|\n"
            + "| 1.25          | 1.0   | 3    | 0.75            | 0.5 | 1.0    | 14         |\n",
            ModelCard.ResultsTable(ModelCard.EpochRows([log])));
    }

    [Fact]
    public void Validation_loss_comes_right_after_step_wherever_the_log_has_it()
    {
        JsonObject Epoch(int epoch, double trainLoss, double acc, double loss) => new()
        {
            ["type"] = "epoch", ["step"] = epoch * 2, ["epoch"] = epoch, ["train_loss"] = trainLoss,
            ["validation"] = new JsonObject { ["accuracy"] = acc, ["loss"] = loss, ["macro_f1"] = null },
        };
        var table = ModelCard.ResultsTable(ModelCard.EpochRows([new JsonObject { ["type"] = "train", ["step"] = 1, ["loss"] = 9.0 }, Epoch(1, 0.69314718, 0.5, 0.7), Epoch(2, 0.5, 0.625, 0.123456789)]));
        Assert.Equal(
            "| Training Loss | Epoch | Step | Validation Loss | Accuracy | Macro F1 |\n|:-------------:|:-----:|:----:|:---------------:|:--------:|:--------:|\n"
            + "| 0.6931        | 1.0   | 2    | 0.7             | 0.5      | nan      |\n| 0.5           | 2.0   | 4    | 0.1235          | 0.625    | nan      |\n",
            table);
    }

    // extract_hyperparameters_from_trainer's lines before the optimizer, for an HF run of the same per-device batches: per
    // device train and eval batch, distributed_type and num_devices on several devices, the accumulation, and the totals
    // (train: per device × devices × accumulation; eval: rank 0 alone evaluates the global batch). Hand-computed.
    [Theory]
    [InlineData(1, 8, 1, "learning_rate: 0.001|train_batch_size: 8|eval_batch_size: 8|seed: 7")]
    [InlineData(1, 7, 2, "learning_rate: 0.001|train_batch_size: 7|eval_batch_size: 7|seed: 7|gradient_accumulation_steps: 2|total_train_batch_size: 14")]
    [InlineData(2, 8, 1, "learning_rate: 0.001|train_batch_size: 4|eval_batch_size: 8|seed: 7|distributed_type: multi-CPU|num_devices: 2|total_train_batch_size: 8|total_eval_batch_size: 8")]
    [InlineData(2, 7, 2, "learning_rate: 0.001|train_batch_size: 4|eval_batch_size: 7|seed: 7|distributed_type: multi-CPU|num_devices: 2|gradient_accumulation_steps: 2|total_train_batch_size: 14|total_eval_batch_size: 7")]
    [InlineData(3, 4, 2, "learning_rate: 0.001|train_batch_size: 2|eval_batch_size: 4|seed: 7|distributed_type: multi-CPU|num_devices: 3|gradient_accumulation_steps: 2|total_train_batch_size: 8|total_eval_batch_size: 4")]
    public void Batch_sizes_are_per_device_with_the_totals_of_every_rank(int devices, int batch, int accum, string expected)
    {
        var args = new JsonObject
        {
            ["learning_rate"] = 1e-3, ["batch_size"] = batch, ["seed"] = 7, ["gradient_accumulation_steps"] = accum, ["adam_epsilon"] = 1e-8,
            ["warmup_steps"] = 0,
        };
        var lines = ModelCard.Hyperparameters(args, null, devices);
        Assert.Equal(expected.Split('|'), lines.TakeWhile(l => l.Name != "optimizer").Select(l => $"{l.Name}: {l.Value}"));
    }

    // HF's eval_batch_size is per_device_eval_batch_size (total_eval_batch_size that × devices): the recorded validation batch,
    // which rank 0 alone runs; the training batch for a run recorded before it (the theory above).
    [Theory]
    [InlineData(1, "learning_rate: 0.001|train_batch_size: 8|eval_batch_size: 3|seed: 7")]
    [InlineData(2, "learning_rate: 0.001|train_batch_size: 4|eval_batch_size: 3|seed: 7|distributed_type: multi-CPU|num_devices: 2|total_train_batch_size: 8|total_eval_batch_size: 3")]
    public void The_eval_batch_size_is_the_recorded_validation_batch(int devices, string expected)
    {
        var args = new JsonObject
        {
            ["learning_rate"] = 1e-3, ["batch_size"] = 8, ["per_device_eval_batch_size"] = 3, ["seed"] = 7, ["gradient_accumulation_steps"] = 1,
            ["adam_epsilon"] = 1e-8, ["warmup_steps"] = 0,
        };
        var lines = ModelCard.Hyperparameters(args, null, devices);
        Assert.Equal(expected.Split('|'), lines.TakeWhile(l => l.Name != "optimizer").Select(l => $"{l.Name}: {l.Value}"));
    }
}
