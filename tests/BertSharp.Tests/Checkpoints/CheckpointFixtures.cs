using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>Paths of the committed checkpoint fixtures (see tests/fixtures/checkpoints/README.md).</summary>
internal static class CheckpointFixtures
{
    public static string Dir => Path.Combine(TestPaths.Fixtures, "checkpoints");

    public static string File(string name) => Path.Combine(Dir, name);

    /// <summary>HF's BertForPreTraining model.safetensors (tiny config, from shared/fixtures/hf_bert/pretraining).</summary>
    public static string PretrainingSafeTensors => File("pretraining.safetensors");

    /// <summary>The same weights as torch.save(state_dict()) wrote them.</summary>
    public static string PretrainingBin => File("pretraining.bin");

    /// <summary>BertForSequenceClassification model.safetensors.</summary>
    public static string SeqClsSafeTensors => File("seqcls.safetensors");

    /// <summary>The same weights with legacy LayerNorm gamma/beta names, as pytorch_model.bin.</summary>
    public static string LegacyBin => File("legacy-gamma-beta.bin");

    /// <summary>A reference.safetensors with I64 and F32 tensors and five metadata keys.</summary>
    public static string SeqClsReference => File("seqcls-reference.safetensors");

    /// <summary>Every supported dtype, encoded by hand in make_dtypes.py.</summary>
    public static string DTypes => File("dtypes.safetensors");
}
