namespace BertSharp.Fuzz;

/// <summary>
/// One thing under test. <see cref="Run"/> may succeed or throw <see cref="BertSharpException"/> (a clean refusal of bad
/// input, counted); any other exception, or a broken invariant (<see cref="InvariantException"/>), is a crash.
/// </summary>
public abstract class FuzzTarget
{
    public abstract string Name { get; }

    /// <summary>Valid inputs to start from (the mutator derives everything else from them).</summary>
    public abstract IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>Feeds one input to the code under test.</summary>
    public abstract void Run(byte[] input);

    /// <summary>A fresh input: usually a mutated seed, sometimes something built from scratch by the target.</summary>
    public virtual byte[] Next(Mutator m) => m.Mutate(Seeds[m.Random.Next(Seeds.Count)], Seeds);
}

/// <summary>The code returned, but what it returned is wrong.</summary>
public sealed class InvariantException(string message) : Exception(message);
