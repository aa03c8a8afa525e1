using System.CommandLine;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale bench ...</c>: end-to-end benchmarks of the product's own paths.</summary>
public static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks (throughput of reading, inference, serving)")
    {
        BenchReadCommand.Create(),
        BenchInferCommand.Create(),
        BenchStorageCommand.Create(),
        BenchServeCommand.Create(),
    };
}
