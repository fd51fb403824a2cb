using System.Reflection;
using System.Runtime.CompilerServices;
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
    private static Stack<(DisposeScope Scope, int Thread)?>? _scopes;

    public override void Before(MethodInfo methodUnderTest)
    {
        ArgumentNullException.ThrowIfNull(methodUnderTest);
        var synchronous = methodUnderTest.GetCustomAttribute<AsyncStateMachineAttribute>() is null
            && !typeof(Task).IsAssignableFrom(methodUnderTest.ReturnType) && !methodUnderTest.ReturnType.Name.StartsWith("ValueTask", StringComparison.Ordinal);
        (_scopes ??= new()).Push(synchronous ? (torch.NewDisposeScope(), Environment.CurrentManagedThreadId) : null);
    }

    public override void After(MethodInfo methodUnderTest)
    {
        if (_scopes is not { Count: > 0 } || _scopes.Pop() is not { } held)
        {
            return;
        }
        // Scopes are per thread: a test that ended on another thread would leave this one's scope current for good.
        if (held.Thread != Environment.CurrentManagedThreadId)
        {
            throw new InvalidOperationException($"{methodUnderTest.Name}: the test ended on another thread than it started; {nameof(HoldTensorsDuringTestAttribute)} cannot release its dispose scope.");
        }
        held.Scope.Detach(held.Scope.DisposablesView);
        held.Scope.Dispose();
    }
}
