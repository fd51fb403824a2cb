using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Issue 21 items 6–10: memory and CPU bombs in checkpoints and configs are refused with a one-line error naming the file and
/// the limit, before the model or any tensor is allocated.
/// </summary>
public class LoaderBombTests(LoaderBombTests.Files files, ITestOutputHelper output) : IClassFixture<LoaderBombTests.Files>
{
    /// <summary>Each bomb is written once per run and shared by the tests of this class.</summary>
    public sealed class Files : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Dictionary<string, string> _dirs = [];

        public string this[string bomb]
        {
            get
            {
                lock (_dirs)
                {
                    if (!_dirs.TryGetValue(bomb, out var dir))
                    {
                        dir = _tmp.File(bomb.Replace('^', '_'));
                        Bombs.Write(bomb, dir);
                        _dirs[bomb] = dir;
                    }
                    return dir;
                }
            }
        }

        public void Dispose() => _tmp.Dispose();
    }

    public static TheoryData<string> Names => [.. Bombs.Expected.Keys];

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [MemberData(nameof(Names))]
    public void The_library_refuses_each_bomb_before_building_the_model(string bomb)
    {
        var dir = files[bomb];
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Load(null, dir, out _));
        Assert.Contains(Bombs.Expected[bomb], e.Message);
        Assert.Contains(Path.Combine(dir, Bombs.Culprit(bomb)).TrimEnd('/'), e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // Where it was thrown: config parsing or the header pass, never model construction or tensor loading.
        Assert.DoesNotContain("BertPretrained.Construct", e.StackTrace);
        Assert.DoesNotContain("StateDictSource.Load", e.StackTrace);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableTheory]
    [MemberData(nameof(Names))]
    public void Convert_refuses_each_bomb_in_one_line_exit_2_within_5_cpu_seconds_and_500_MB(string bomb)
    {
        Skip.IfNot(ChildCli.Available, "needs /usr/bin/time and the built CLI");
        using var tmp = TestPaths.TempDir();
        var r = ChildCli.Run("convert", files[bomb], tmp.File("out"));
        AssertRefused(r, bomb);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableTheory]
    [InlineData("safetensors-many-tensors")]
    [InlineData("shard-index-cycle")]
    [InlineData("pickle-empty-dicts")]
    [InlineData("zip-shared-stream")]
    [InlineData("config-vocab-2^23")]
    [InlineData("config-missing-layers")]
    public void Inspect_refuses_header_bombs_the_same_way(string bomb)
    {
        Skip.IfNot(ChildCli.Available, "needs /usr/bin/time and the built CLI");
        AssertRefused(ChildCli.Run("inspect", files[bomb]), bomb);
    }

    private void AssertRefused(ChildCli.Result r, string bomb)
    {
        output.WriteLine($"{bomb}: exit {r.ExitCode}, peak RSS {r.PeakRssKb / 1024} MB, {r.CpuSeconds:F2} CPU s: {r.StdErr.Trim()}");
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(Bombs.Expected[bomb], lines[0]);
        Assert.True(r.PeakRssKb < 500 * 1024, $"peak RSS {r.PeakRssKb / 1024} MB");
        Assert.True(r.CpuSeconds < 5, $"{r.CpuSeconds} CPU seconds");
    }
}
