using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>
/// What <see cref="StreamedLoadTests"/> and <see cref="StreamedBinAndShardLoadTests"/> share: HF's tiny pre-training
/// checkpoint laid out another way in a model directory of its own, and the check that loading one layout gives every
/// parameter exactly the weights another layout gives it.
/// </summary>
internal static class StreamedLoadCheck
{
    /// <summary>HF's pre-training case directory: its config.json and model.safetensors.</summary>
    public static string PretrainingDir => Path.GetDirectoryName(CheckpointFixtures.PretrainingSafeTensors)!;

    /// <summary>A temporary model directory holding the pre-training config.json and copies of <paramref name="weights"/>, under their own names.</summary>
    public static TempDir ModelDir(params string[] weights)
    {
        var tmp = TestPaths.TempDir();
        try
        {
            File.Copy(Path.Combine(PretrainingDir, "config.json"), tmp.File("config.json"));
            foreach (var f in weights)
            {
                File.Copy(f, tmp.File(Path.GetFileName(f)));
            }
            return tmp;
        }
        catch
        {
            tmp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads <paramref name="dir"/> (no key missing, float32 weights read) and <paramref name="reference"/> as
    /// BertForPreTraining: each parameter of the first is identical to the second's of its name, and neither has more.
    /// </summary>
    public static void AssertSameParameters(string dir, string reference)
    {
        using var loaded = BertPretrained.Load<BertForPreTraining>(dir, out var report);
        using var other = BertPretrained.Load<BertForPreTraining>(reference);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(["Float32"], report.SourceDtypes);
        var expected = other.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        foreach (var (name, p) in loaded.NamedParameters())
        {
            TensorAssert.Identical(expected[name], p, name);
        }
        Assert.Equal(expected.Count, loaded.NamedParameters().Count());
    }
}
