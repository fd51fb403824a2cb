using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>--freeze-encoder and --freeze-layers: which parameters they select, and that a sequence-classification run leaves exactly those as loaded.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class ParameterFreezingTests
{
    [Theory]
    [InlineData("bert.embeddings.word_embeddings.weight", true, null, true)]
    [InlineData("bert.pooler.dense.weight", true, null, true)]
    [InlineData("classifier.weight", true, null, false)]
    [InlineData("bert.embeddings.LayerNorm.bias", false, 1, true)]
    [InlineData("bert.encoder.layer.0.output.dense.weight", false, 1, true)]
    [InlineData("bert.encoder.layer.1.output.dense.weight", false, 1, false)]
    [InlineData("bert.encoder.layer.10.output.dense.weight", false, 2, false)]
    [InlineData("bert.pooler.dense.weight", false, 2, false)]
    [InlineData("bert.embeddings.word_embeddings.weight", false, 0, false)]
    [InlineData("qa_outputs.weight", false, null, false)]
    public void Selects_the_encoder_or_the_first_layers(string name, bool encoder, int? layers, bool frozen) =>
        Assert.Equal(frozen, ParameterFreezing.IsFrozen(name, encoder, layers));

    [Fact]
    public void Refuses_contradicting_or_out_of_range_settings()
    {
        var e = Assert.Throws<BertSharpException>(() => ParameterFreezing.Check(true, 1, 2));
        Assert.Contains("give one or the other", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<BertSharpException>(() => ParameterFreezing.Check(false, 3, 2));
        Assert.Contains("expected 0…2 (the model has 2 layers)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sequence_classification_with_frozen_layers_trains_only_the_rest()
    {
        using var tmp = TestPaths.TempDir();
        var checkpoint = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var result = FineTuner.Run(new FineTuneOptions
        {
            Task = TaskSpec.Sst2,
            Training = new()
            {
                DataPath = data, EvalDataPath = data, OutputDir = tmp.File("out"), ModelDir = checkpoint,
                Epochs = 1, BatchSize = 4, LearningRate = 1e-3, MaxLength = 24, Device = "cpu", FreezeLayers = 1,
            },
        });
        Assert.True(result.Completed);
        using var before = BertPretrained.Load<BertForSequenceClassification>(checkpoint);
        using var after = BertPretrained.Load<BertForSequenceClassification>(tmp.File("out"));
        var old = before.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var changed = 0;
        foreach (var (name, p) in after.NamedParameters().Where(n => !n.Name.StartsWith("classifier", StringComparison.Ordinal)))
        {
            var same = p.equal(old[name]).all().item<bool>();
            var frozen = ParameterFreezing.IsFrozen(name, false, 1);
            Assert.True(frozen == same, $"{name}: frozen {frozen} but {(same ? "unchanged" : "changed")}");
            changed += same ? 0 : 1;
        }
        Assert.True(changed > 10, "layer 1 and the pooler trained");
        var args = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tmp.File("out/training_args.json")))!;
        Assert.Equal(1, (int)args["freeze_layers"]!);
    }
}
