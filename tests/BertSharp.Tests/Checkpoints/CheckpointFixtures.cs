using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>
/// Paths of the committed checkpoint fixtures (see tests/fixtures/checkpoints/README.md). The HF checkpoints are read where
/// they were generated, in the HF reference fixture's case directories (tests/fixtures/hf_bert), not from copies.
/// </summary>
internal static class CheckpointFixtures
{
    public static string Dir => Path.Combine(TestPaths.Fixtures, "checkpoints");

    public static string File(string name) => Path.Combine(Dir, name);

    /// <summary>A file of an HF reference case directory (tests/fixtures/hf_bert/CASE/FILE).</summary>
    public static string HfCase(string caseName, string file) => Path.Combine(TestPaths.Fixtures, "hf_bert", caseName, file);

    /// <summary>HF's BertForPreTraining model.safetensors (tiny config): hf_bert/pretraining/model.safetensors.</summary>
    public static string PretrainingSafeTensors => HfCase("pretraining", "model.safetensors");

    /// <summary>The same weights as torch.save(state_dict()) wrote them.</summary>
    public static string PretrainingBin => HfCase("pretraining", "pytorch_model.bin");

    /// <summary>BertForSequenceClassification model.safetensors.</summary>
    public static string SeqClsSafeTensors => HfCase("sequence-classification", "model.safetensors");

    /// <summary>The same weights with legacy LayerNorm gamma/beta names, as pytorch_model.bin.</summary>
    public static string LegacyBin => HfCase("legacy-gamma-beta", "pytorch_model.bin");

    /// <summary>A reference.safetensors with I64 and F32 tensors and five metadata keys.</summary>
    public static string SeqClsReference => HfCase("sequence-classification", "reference.safetensors");

    /// <summary>Every supported dtype, encoded by hand in make_dtypes.py.</summary>
    public static string DTypes => File("dtypes.safetensors");
}
