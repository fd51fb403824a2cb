using BertSharp.Server;

namespace BertSharp.Tests.Server;

/// <summary>The server library names its options by field (issue 14); <c>bert serve</c> shows them as flags.</summary>
public class ServerOptionMessageTests
{
    [Fact]
    public void Bad_allowed_hosts_and_a_missing_model_name_the_fields()
    {
        var hosts = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", AllowedHosts = [" "] }.Validate());
        Assert.Equal(["allowed_hosts"], hosts.Fields);
        Assert.StartsWith("allowed_hosts: expected host names", hosts.Message, StringComparison.Ordinal);
        Assert.StartsWith("--allowed-hosts: expected host names", Cli.CliErrors.Describe(hosts), StringComparison.Ordinal);

        var missing = Path.Combine(Path.GetTempPath(), "bertsharp-no-such-model-" + Guid.NewGuid().ToString("N"));
        var model = Assert.Throws<BertSharpException>(() => ServedModel.Load(missing, "cpu", null));
        Assert.Equal(["model"], model.Fields);
        Assert.Equal($"model {missing}: model directory not found.", model.Message);
        Assert.Equal($"--model {missing}: model directory not found.", Cli.CliErrors.Describe(model));
    }

    [Fact]
    public void The_durations_are_checked_by_the_library_alone_and_the_cli_names_its_flags()
    {
        // The rule is ServerOptions' (serve only converts its numbers through it): the library refuses what the flags
        // refuse, in fields, and the CLI's rendering of those fields is the flag.
        var e = Assert.Throws<BertSharpException>(() =>
            new ServerOptions { ModelDirectory = "m", Timeout = TimeSpan.FromDays(2) }.Validate());
        Assert.Equal(["timeout"], e.Fields);
        Assert.Equal("timeout 172800: expected a number of seconds > 0 (at most a day).", e.Message);
        Assert.Equal("--timeout 172800: expected a number of seconds > 0 (at most a day).", Cli.CliErrors.Describe(e));
        e = Assert.Throws<BertSharpException>(() =>
            new ServerOptions { ModelDirectory = "m", Timeout = TimeSpan.Zero }.Validate());
        Assert.Equal("timeout 0: expected a number of seconds > 0 (at most a day).", e.Message);
        e = Assert.Throws<BertSharpException>(() =>
            new ServerOptions { ModelDirectory = "m", BatchWindow = TimeSpan.FromHours(25) }.Validate());
        Assert.Equal("--batch-window-ms 90000000: expected a number of milliseconds ≥ 0 (at most a day).", Cli.CliErrors.Describe(e));
        new ServerOptions { ModelDirectory = "m", Timeout = TimeSpan.FromDays(1), BatchWindow = TimeSpan.Zero }.Validate();
    }

    [Fact]
    public void Limits_below_their_least_name_the_field()
    {
        // A candidate limit below 1 used to pass, and then every fill-mask request was refused ("use at most 0 [MASK] tokens").
        var e = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", MaxFillMaskCandidates = -1 }.Validate());
        Assert.Equal(["max_fill_mask_candidates"], e.Fields);
        Assert.Equal("max_fill_mask_candidates -1: expected at least 1.", e.Message);
        e = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", MaxBodyBytes = 1000 }.Validate());
        Assert.Equal("max_body_bytes 1000: expected at least 1024.", e.Message);
        // These three passed unchecked: 0 texts refused every 'texts' array, an attention length under 3 every text, and 0
        // context windows every QA context.
        e = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", MaxTextsPerRequest = 0 }.Validate());
        Assert.Equal(["max_texts_per_request"], e.Fields);
        Assert.Equal("max_texts_per_request 0: expected at least 1.", e.Message);
        Assert.Equal("--max-texts-per-request 0: expected at least 1.", Cli.CliErrors.Describe(e));
        e = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", MaxAttentionLength = 2 }.Validate());
        Assert.Equal(["max_attention_length"], e.Fields);
        Assert.Equal("max_attention_length 2: expected at least 3.", e.Message);
        e = Assert.Throws<BertSharpException>(() => new ServerOptions { ModelDirectory = "m", MaxContextWindows = -1 }.Validate());
        Assert.Equal(["max_context_windows"], e.Fields);
        Assert.Equal("max_context_windows -1: expected at least 1.", e.Message);
        new ServerOptions
        {
            ModelDirectory = "m", MaxFillMaskCandidates = 1, MaxBatch = 1, MaxQueue = 1, MaxLength = 8, MaxBodyBytes = 1024,
            MaxTextsPerRequest = 1, MaxAttentionLength = 3, MaxContextWindows = 1,
        }.Validate();
    }
}
