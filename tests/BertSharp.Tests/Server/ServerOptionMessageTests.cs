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
}
