namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Tests that depend on process-wide state: torch's default generator (seeded training, dropout, initialisation by
/// <c>torch.manual_seed</c>), libtorch's thread count (<c>--threads</c> in-process), Console redirection outside
/// <see cref="CliRunner"/>, environment variables. xunit runs this collection by itself after every parallel collection has
/// finished, so nothing draws from the generator between a test's seed and its assertion.
/// </summary>
/// <remarks>
/// Each class of the collection also carries the trait <c>Isolation=Serial</c> (<see cref="TraitName"/>,
/// <see cref="TraitValue"/>), which <c>./test.sh</c> filters on to run these classes in a test process of their own, beside
/// the process running every other class: the process-wide state is then theirs alone, and neither process leaves a core idle
/// while the other finishes. <c>SerialCollectionTests</c> checks that the trait and the collection name the same classes.
/// </remarks>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection : ICollectionFixture<SerialCollection.AllCores>
{
    public const string Name = "Serial (process-wide torch RNG, threads, console, environment)";

    /// <summary>The trait that marks the classes of this collection for a test filter: <c>Isolation=Serial</c>.</summary>
    public const string TraitName = "Isolation";

    /// <summary>The value of <see cref="TraitName"/> on the classes of this collection.</summary>
    public const string TraitValue = "Serial";

    /// <summary>
    /// Set (to 1) by <c>./test.sh</c> in the process that runs this collection beside another test process: both share the
    /// cores, so libtorch keeps one thread per process.
    /// </summary>
    public const string SharedCpuVariable = "BERTSHARP_TEST_SHARED_CPU";

    /// <summary>
    /// Gives libtorch back its own thread count for the serial tests when nothing else runs beside them (a plain
    /// <c>dotnet test</c>); keeps one thread when another test process shares the cores.
    /// </summary>
    public sealed class AllCores
    {
        public AllCores()
        {
            if (Environment.GetEnvironmentVariable(SharedCpuVariable) != "1")
            {
                TestTorch.UseDefaultThreads();
            }
        }
    }
}
