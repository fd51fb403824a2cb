using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Hostile checkpoints, built on the fly as small files (the largest is a few MB) that used to cost gigabytes or minutes:
/// each is a model directory (config.json + weights) that must now be refused before anything large is allocated.
/// </summary>
public static class Bombs
{
    /// <summary>Every bomb, with a fragment its refusal must contain (naming the limit or the mismatch).</summary>
    public static readonly IReadOnlyDictionary<string, string> Expected = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["zip-shared-stream"] = "entries share data",
        ["zip-deflated-storage"] = "more than the",
        ["pickle-empty-dicts"] = "more than 2,000,000 values",
        ["pickle-memo"] = "more than 2,000,000 values",
        ["pickle-dup"] = "more than 2,000,000 values",
        ["safetensors-many-tensors"] = "more than 100,000 tensors",
        ["shard-index-cycle"] = "indexes may not refer to indexes",
        ["config-vocab-2^23"] = "needs [8388608, 64]",
        ["config-million-layers"] = "from 0 to 1024",
        ["config-vocab-2^31"] = "from 1 to 16777216",
        ["config-missing-layers"] = "that the checkpoint does not have",
    };

    /// <summary>The file the refusal must name (relative to the model directory).</summary>
    public static string Culprit(string bomb) => bomb switch
    {
        "safetensors-many-tensors" => "model.safetensors",
        "shard-index-cycle" => "model.safetensors.index.json",
        "config-million-layers" or "config-vocab-2^31" => "config.json",
        "config-vocab-2^23" or "config-missing-layers" => "",
        _ => "pytorch_model.bin",
    };

    /// <summary>Writes bomb <paramref name="name"/> as a model directory under <paramref name="dir"/>.</summary>
    public static void Write(string name, string dir)
    {
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(HfFixture.Dir("sequence-classification"), "config.json")))!.AsObject();
        var fixtureWeights = Path.Combine(HfFixture.Dir("sequence-classification"), "model.safetensors");
        switch (name)
        {
            case "zip-shared-stream":
            {
                // Ten storages of 128 MiB each, all read from one deflated stream of zeros (~130 KB): 1.3 GB from a small file.
                const long numel = 32L << 20;
                var zip = new TorchZipWriter();
                var pickle = new StateDictPickle();
                for (var i = 0; i < 10; i++)
                {
                    pickle.Tensor($"w{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), numel);
                }
                zip.Add("archive/data.pkl", pickle.ToArray());
                zip.Add("archive/data/0", new byte[numel * 4], deflate: true);
                for (var i = 1; i < 10; i++)
                {
                    zip.Alias($"archive/data/{i}", "archive/data/0");
                }
                zip.Save(Path.Combine(dir, "pytorch_model.bin"));
                break;
            }
            case "zip-deflated-storage":
            {
                const long numel = 32L << 20;
                var zip = new TorchZipWriter();
                zip.Add("archive/data.pkl", new StateDictPickle().Tensor("w", "0", numel).ToArray());
                zip.Add("archive/data/0", new byte[numel * 4], deflate: true);
                zip.Save(Path.Combine(dir, "pytorch_model.bin"));
                break;
            }
            case "pickle-empty-dicts":
                PickleBomb(dir, Repeat([(byte)'}'], 4_000_000));
                break;
            case "pickle-memo":
            {
                // One dict memoised under three million keys (BINPUT with a 4-byte key).
                var body = new byte[1 + (5 * 3_000_000)];
                body[0] = (byte)'}';
                for (var i = 0; i < 3_000_000; i++)
                {
                    body[1 + (5 * i)] = (byte)'r';
                    BitConverter.TryWriteBytes(body.AsSpan(2 + (5 * i), 4), i);
                }
                PickleBomb(dir, body);
                break;
            }
            case "pickle-dup":
                PickleBomb(dir, [(byte)'}', .. Repeat([(byte)'2'], 4_000_000)]);
                break;
            case "safetensors-many-tensors":
            {
                // 150,000 zero-size tensors: a valid layout, but a header far beyond any checkpoint.
                var json = new StringBuilder("{");
                for (var i = 0; i < 150_000; i++)
                {
                    json.Append(i == 0 ? "" : ",").Append("\"t").Append(i).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
                }
                var header = Encoding.UTF8.GetBytes(json.Append('}').ToString());
                using var f = File.Create(Path.Combine(dir, "model.safetensors"));
                f.Write(BitConverter.GetBytes((ulong)header.Length));
                f.Write(header);
                break;
            }
            case "shard-index-cycle":
                File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), """{"weight_map":{"a":"model.safetensors.index.json"}}""");
                break;
            case "config-vocab-2^23":
                config["vocab_size"] = 1 << 23;
                File.Copy(fixtureWeights, Path.Combine(dir, "model.safetensors"));
                break;
            case "config-million-layers":
                config["num_hidden_layers"] = 1_000_000;
                File.Copy(fixtureWeights, Path.Combine(dir, "model.safetensors"));
                break;
            case "config-vocab-2^31":
                config["vocab_size"] = int.MaxValue;
                File.Copy(fixtureWeights, Path.Combine(dir, "model.safetensors"));
                break;
            case "config-missing-layers":
                // Within the layer limit, but 1,022 of the 1,024 layers (34 M parameters) would be invented.
                config["num_hidden_layers"] = 1024;
                File.Copy(fixtureWeights, Path.Combine(dir, "model.safetensors"));
                break;
            default:
                throw new ArgumentException("unknown bomb " + name, nameof(name));
        }
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
    }

    private static void PickleBomb(string dir, byte[] body)
    {
        var zip = new TorchZipWriter();
        zip.Add("archive/data.pkl", [0x80, 0x02, .. body, (byte)'.'], deflate: true);
        zip.Save(Path.Combine(dir, "pytorch_model.bin"));
    }

    private static byte[] Repeat(byte[] unit, int times)
    {
        var r = new byte[unit.Length * times];
        for (var i = 0; i < times; i++)
        {
            unit.CopyTo(r, i * unit.Length);
        }
        return r;
    }
}
