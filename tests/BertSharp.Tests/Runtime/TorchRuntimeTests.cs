using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using TorchSharp;

namespace BertSharp.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_does_a_matmul()
    {
        TorchRuntime.EnsureLoaded();
        using var a = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(2, 3);
        using var b = torch.tensor(new float[] { 7, 8, 9, 10, 11, 12 }).reshape(3, 2);
        using var c = a.matmul(b);
        // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c.data<float>().ToArray());
    }

    [Fact]
    public void One_autograd_step_gives_the_analytic_gradient()
    {
        // f(w) = sum((w*x - y)^2); df/dw = sum(2*(w*x - y)*x) = 2*((2*1-1)*1 + (2*3-2)*3) = 2*(1+12) = 26
        using var w = torch.tensor(2.0f, requires_grad: true);
        using var x = torch.tensor(new float[] { 1, 3 });
        using var y = torch.tensor(new float[] { 1, 2 });
        using var loss = (w * x - y).pow(BertSharp.Modeling.StableScalars.Of(2L)).sum();
        loss.backward();
        Assert.Equal(26f, w.grad!.item<float>(), 5);
        using (torch.no_grad())
        {
            w.sub_(w.grad!.mul(BertSharp.Modeling.StableScalars.Of(0.01f)));
        }
        Assert.Equal(2f - 0.26f, w.item<float>(), 5);
    }

    [Fact]
    public void Unknown_device_name_is_a_clear_error()
    {
        var e = Assert.Throws<BertSharpException>(() => TorchRuntime.ResolveDevice("cuda"));
        // The library names the field; the CLI says it with its flag.
        Assert.StartsWith("device cuda: CUDA is not available", e.Message, StringComparison.Ordinal);
        Assert.Equal(["device", "device"], e.Fields);
        Assert.EndsWith("use --device cpu.", Cli.CliErrors.Describe(e), StringComparison.Ordinal);
        Assert.Equal(torch.CPU.type, TorchRuntime.ResolveDevice("auto").type);
    }

    [Fact]
    public void Doctor_command_reports_a_working_libtorch()
    {
        var r = CliRunner.Run("doctor");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("matmul check: 12 == 12", r.StdOut, StringComparison.Ordinal);
    }
}
