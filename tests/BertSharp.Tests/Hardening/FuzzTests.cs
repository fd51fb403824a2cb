using BertSharp.Checkpoints;
using BertSharp.Checkpoints.PyTorchBin;
using BertSharp.Data;
using BertSharp.Fuzz;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// The short, fixed-seed run of the fuzzing harness (tests/BertSharp.Fuzz; the long run is bench/fuzz.sh): the tokenizer,
/// the pickle reader, the safetensors parser and the data readers take a few thousand hostile inputs with clean refusals
/// only. Each crash the harness has found is a regression test below.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> Targets => new()
    {
        { "tokenizer", 3000 },
        { "pickle", 800 },
        { "safetensors", 800 },
        { "datasets", 800 },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Fixed_seed_run_finds_no_crash(string name, int inputs)
    {
        TorchRuntime.EnsureLoaded();
        var target = Fuzzer.AllTargets().Single(t => t.Name == name);
        var report = Fuzzer.Run(target, inputs, seed: 21, hangAfter: TimeSpan.FromMinutes(2), log: TextWriter.Null);
        output.WriteLine(Fuzzer.Json(report));
        Assert.Equal(inputs, report.Inputs);
        Assert.True(report.Crashes == 0, string.Join("\n", report.Findings));
        // The run reaches past the first checks: some inputs are accepted, some refused.
        Assert.InRange(report.Refused, 1, inputs - 1);
    }

    private sealed class Planted : FuzzTarget
    {
        public override string Name => "planted";

        public override IReadOnlyList<byte[]> Seeds { get; } = [[1, 2, 3, 4]];

        public override void Run(byte[] input)
        {
            if (input.Length > 5)
            {
                throw new InvalidOperationException("planted bug");
            }
            if (input.Length < 3)
            {
                throw new BertSharpException("refused");
            }
        }
    }

    [Fact]
    public void The_harness_reports_a_planted_crash_and_counts_refusals()
    {
        using var tmp = TestPaths.TempDir();
        // The findings log stays out of the process's stderr, which CLI tests running beside this one capture.
        var report = Fuzzer.Run(new Planted(), 500, seed: 3, hangAfter: TimeSpan.FromMinutes(1), tmp.Path, TextWriter.Null);
        Assert.True(report.Crashes > 0);
        Assert.True(report.Refused > 0);
        Assert.Contains("planted bug", report.Findings[0]);
        Assert.True(Directory.GetFiles(tmp.Path, "crash-planted-*.bin").Length == report.Crashes);
    }

    // ---- regressions: crashes the harness found ---------------------------------------------------------------------

    [Fact]
    public void Jsonl_dataset_with_an_escaped_lone_surrogate_is_a_line_numbered_error()
    {
        // Found by the datasets target: System.Text.Json's InvalidOperationException escaped as an internal error (exit 70).
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("d.jsonl"), "{\"text\": \"fine\", \"label\": 1}\n{\"text\": \"a \\ud800 b\", \"label\": 0}\n");
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File("d.jsonl"), TaskSpec.Get("jsonl")));
        Assert.Contains("d.jsonl line 2: a string is not valid Unicode", e.Message);
        File.WriteAllText(tmp.File("k.jsonl"), "{\"text\": \"x\", \"\\udc00\": 1}\n");
        Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File("k.jsonl"), TaskSpec.Get("jsonl")));
    }

    [Fact]
    public void Empty_view_whose_other_dimensions_overflow_is_refused_before_libtorch()
    {
        // Found by the pickle target: size [3074457345618258602, 7, 0] passed the bounds check (no elements) but made
        // libtorch's as_strided throw "numel: integer multiplication overflow" (an internal error).
        TorchRuntime.EnsureLoaded();
        var w = new PickleWriter();
        w.Tensor("t", "0", "FloatStorage", 4, 0, [3074457345618258602, 7, 0], [7, 1, 1], parameter: false);
        var pkl = w.ToArray();
        var u = new RestrictedUnpickler("t.pkl", pkl);
        var refs = PyTorchBinReader.ToStateDict("t.pkl", u.Load());
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.Describe("t.pkl", refs));
        Assert.Contains("tensor 't'", e.Message);
        Assert.Contains("element count overflows", e.Message);
        // The same dimensions in a real archive are refused by the full reader as well.
        using var tmp = TestPaths.TempDir();
        var zip = new TorchZipWriter();
        zip.Add("archive/data.pkl", pkl);
        zip.Add("archive/data/0", new byte[16]);
        zip.Save(tmp.File("m.bin"));
        Assert.Contains("element count overflows", Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("m.bin"))).Message);
    }
}
