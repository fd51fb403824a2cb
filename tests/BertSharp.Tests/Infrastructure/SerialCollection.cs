namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Tests that depend on process-wide state: torch's default generator (seeded training, dropout, initialisation by
/// <c>torch.manual_seed</c>), libtorch's thread count (<c>--threads</c> in-process), Console redirection outside
/// <see cref="CliRunner"/>, environment variables. xunit runs this collection by itself after every parallel collection has
/// finished, so nothing draws from the generator between a test's seed and its assertion.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection : ICollectionFixture<SerialCollection.AllCores>
{
    public const string Name = "Serial (process-wide torch RNG, threads, console, environment)";

    /// <summary>Gives libtorch back its own thread count for the serial tests: nothing else runs beside them.</summary>
    public sealed class AllCores
    {
        public AllCores() => TestTorch.UseDefaultThreads();
    }
}
