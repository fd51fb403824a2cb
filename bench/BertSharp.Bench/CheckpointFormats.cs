using System.Globalization;
using System.Text.Json;
using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Hardening;
using TorchSharp;

namespace BertSharp.Bench;

/// <summary>
/// <c>--as-bin SRC DST</c> and <c>--as-shards SRC DST N</c>: rewrite the float32 model.safetensors of model directory SRC
/// as a <c>pytorch_model.bin</c> (the torch.save zip layout, through the tests' byte-level writer, since BertSharp writes no
/// .bin) or as N safetensors shards and their <c>model.safetensors.index.json</c>, copying the other files, so
/// bench/load-memory.sh can load the same weights from each format.
/// </summary>
internal static class CheckpointFormats
{
    public static int Run(string[] args)
    {
        var (src, dst) = (args[1], args[2]);
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(dst);
        // .bertsharp lists the files BertSharp wrote, model.safetensors among them: the copy is not that directory.
        foreach (var f in Directory.GetFiles(src).Where(f => Path.GetFileName(f) is not ("model.safetensors" or ".bertsharp")))
        {
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)), overwrite: true);
        }
        var tensors = SafeTensors.Load(Path.Combine(src, "model.safetensors"));
        try
        {
            if (args[0] == "--as-bin")
            {
                WriteBin(tensors, Path.Combine(dst, "pytorch_model.bin"));
            }
            else
            {
                WriteShards(tensors, dst, int.Parse(args[3], CultureInfo.InvariantCulture));
            }
        }
        finally
        {
            SafeTensors.DisposeAll(tensors);
        }
        return 0;
    }

    private static void WriteBin(Dictionary<string, torch.Tensor> tensors, string path)
    {
        var pickle = new StateDictPickle();
        var zip = new TorchZipWriter();
        var storages = new List<(string Name, byte[] Bytes)>();
        foreach (var (i, (key, t)) in tensors.Index())
        {
            var storage = i.ToString(CultureInfo.InvariantCulture);
            pickle.Tensor(key, storage, t.numel(), size: t.shape);
            storages.Add(($"pytorch_model/data/{storage}", t.contiguous().bytes.ToArray()));
        }
        zip.Add("pytorch_model/data.pkl", pickle.ToArray());
        zip.Add("pytorch_model/byteorder", "little"u8.ToArray());
        foreach (var (name, bytes) in storages)
        {
            zip.Add(name, bytes);
        }
        zip.Add("pytorch_model/version", "3\n"u8.ToArray());
        zip.Save(path);
    }

    private static void WriteShards(Dictionary<string, torch.Tensor> tensors, string dir, int count)
    {
        var keys = tensors.Keys.ToList();
        var weightMap = new Dictionary<string, string>();
        for (int s = 0; s < count; s++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"model-{s + 1:D5}-of-{count:D5}.safetensors");
            var part = keys.Where((_, i) => i * count / keys.Count == s).ToDictionary(k => k, k => tensors[k]);
            SafeTensors.Save(Path.Combine(dir, name), part);
            foreach (var k in part.Keys)
            {
                weightMap[k] = name;
            }
        }
        var total = tensors.Values.Sum(t => t.numel() * t.element_size());
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = weightMap }));
    }
}
