using System.Reflection;
using TorchSharp;
using Xunit.Sdk;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Runs each synchronous test inside a TorchSharp dispose scope that holds, for the test's duration, every tensor the test
/// thread creates, and hands them back to the garbage collector afterwards (detached, not disposed: a test may keep one in a
/// cache). TorchSharp 0.107 passes a temporary's handle to libtorch without keeping the temporary alive, so an expression
/// such as <c>a.mul(b.sum())</c> outside any scope can have <c>b.sum()</c> finalized by a collection on another thread while
/// libtorch reads it: the crashes of tests/README.md, "A test host that crashes". Held by a scope, a tensor cannot be
/// finalized. (Scalars are not tracked by scopes; the build bans the implicit ones, build/BannedSymbols.txt.)
/// Async tests are left alone: their continuations may run on other threads, and dispose scopes are per thread; xunit runs
/// Before, a synchronous test and After on one thread.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class HoldTensorsDuringTestAttribute : BeforeAfterTestAttribute
{
    [ThreadStatic]
    private static Stack<DisposeScope?>? _scopes;

    public override void Before(MethodInfo methodUnderTest)
    {
        ArgumentNullException.ThrowIfNull(methodUnderTest);
        var synchronous = !typeof(Task).IsAssignableFrom(methodUnderTest.ReturnType) && methodUnderTest.ReturnType.Name != "ValueTask";
        (_scopes ??= new()).Push(synchronous ? torch.NewDisposeScope() : null);
    }

    public override void After(MethodInfo methodUnderTest)
    {
        if (_scopes is not { Count: > 0 } || _scopes.Pop() is not { } scope)
        {
            return;
        }
        scope.Detach(scope.DisposablesView);
        scope.Dispose();
    }
}
