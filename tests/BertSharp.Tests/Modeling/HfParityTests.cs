using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// Every forward output of every HF reference case (tests/fixtures/hf_bert, HF transformers 4.47.1) reproduced within the
/// manifest's per-tensor atol, through both attention kernels.
/// </summary>
public class HfParityTests(Xunit.Abstractions.ITestOutputHelper log)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in HfFixture.CaseNames)
        {
            data.Add(c, "eager");
            data.Add(c, "sdpa");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_reference_output_matches(string caseName, string attention)
    {
        var architecture = (string)HfFixture.Case(caseName)["architecture"]!;
        using var model = BertPretrained.Load(architecture, HfFixture.Dir(caseName), out var report, c => c.AttnImplementation = attention);
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        model.eval();
        var refs = HfFixture.Tensors(caseName);
        try
        {
            // Hidden states and attentions are checked on the eager run, which returns them.
            var eager = attention == "eager";
            var (compared, worst, worstName) = HfFixture.AssertOutputsMatch(model, refs, caseName, withInternals: eager, allowMissing: !eager, attention);
            log.WriteLine($"{caseName} ({attention}): {compared} tensors, worst {worst:F3} x atol ({worstName})");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    [Fact]
    public void Pretraining_from_pytorch_model_bin_matches_with_tied_keys_accepted()
    {
        // The .bin holds the tied cls.predictions.decoder.* entries too; copy the case without model.safetensors so the
        // loader has to read the pickle.
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("pretraining", tmp.Path, f => f != "model.safetensors");
        HfFixture.AssertLoadsAsPretrainingCase(tmp.Path, "pytorch_model.bin");
    }

    [Fact]
    public void Legacy_gamma_beta_names_are_renamed_and_reported()
    {
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("legacy-gamma-beta"), out var report);
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Contains("bert.embeddings.LayerNorm.gamma → bert.embeddings.LayerNorm.weight", report.RenamedKeys);
        Assert.Contains("bert.encoder.layer.1.output.LayerNorm.beta → bert.encoder.layer.1.output.LayerNorm.bias", report.RenamedKeys);
    }
}
