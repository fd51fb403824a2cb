using System.Reflection;
using TorchSharp;

namespace BertSharp.Tests.Infrastructure;

/// <summary><see cref="HoldTensorsDuringTestAttribute"/>: what it holds during a test and what it leaves afterwards.</summary>
public class HoldTensorsDuringTestTests
{
    private static readonly MethodInfo Synchronous = typeof(HoldTensorsDuringTestTests).GetMethod(nameof(A_synchronous_test_runs_in_a_scope_that_holds_its_tensors))!;
    private static readonly MethodInfo Asynchronous = typeof(HoldTensorsDuringTestTests).GetMethod(nameof(An_async_test_gets_no_scope))!;

    [Fact]
    public void A_synchronous_test_runs_in_a_scope_that_holds_its_tensors()
    {
        // This very test runs under the assembly's attribute.
        Assert.NotNull(torch.CurrentDisposeScope);
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros(3);
        Assert.True(scope.Contains(t));
    }

    [Fact]
    public async Task An_async_test_gets_no_scope()
    {
        await Task.Yield();
        Assert.Null(torch.CurrentDisposeScope);
    }

    [Fact]
    public void After_the_test_its_tensors_are_released_undisposed_and_the_scope_is_gone()
    {
        // On a thread of its own, as xunit would run Before, a test and After.
        TorchSharp.torch.Tensor? kept = null;
        DisposeScope? during = null;
        DisposeScope? afterwards = null;
        var thread = new Thread(() =>
        {
            var attribute = new HoldTensorsDuringTestAttribute();
            attribute.Before(Synchronous);
            during = torch.CurrentDisposeScope;
            kept = torch.ones(4);
            attribute.After(Synchronous);
            afterwards = torch.CurrentDisposeScope;
            attribute.Before(Asynchronous);
            Assert.Null(torch.CurrentDisposeScope);
            attribute.After(Asynchronous);
        });
        thread.Start();
        thread.Join();
        Assert.NotNull(during);
        Assert.Null(afterwards);
        Assert.False(during!.Contains(kept!));
        // Not disposed: the test could have cached it.
        Assert.Equal(4f, kept!.sum().item<float>());
        kept.Dispose();
    }
}
