using BertSharp.Checkpoints;
using TorchSharp;

namespace BertSharp.Tests.Infrastructure;

/// <summary>Edits of a checkpoint's safetensors file, as a damaged or differently saved checkpoint has it.</summary>
public static class CheckpointTensors
{
    /// <summary>Rewrites <paramref name="file"/> without the tensor <paramref name="name"/>.</summary>
    public static void Drop(string file, string name) => Rewrite(file, tensors =>
    {
        Assert.True(tensors.Remove(name, out var dropped), name);
        dropped.Dispose();
    });

    /// <summary>Rewrites <paramref name="file"/> with <paramref name="alias"/> a copy of <paramref name="name"/> (a tied weight saved twice).</summary>
    public static void Alias(string file, string alias, string name) => Rewrite(file, tensors => tensors.Add(alias, tensors[name].clone()));

    private static void Rewrite(string file, Action<Dictionary<string, torch.Tensor>> edit)
    {
        var tensors = SafeTensors.Load(file);
        try
        {
            edit(tensors);
            SafeTensors.Save(file, tensors);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }
}
