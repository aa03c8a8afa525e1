using System.CommandLine;
using Histoscale.Cli.Commands;

namespace Histoscale.Cli;

/// <summary>The <c>histoscale</c> command tree (one file per verb under Commands/).</summary>
public static class HistoscaleCommands
{
    public static RootCommand CreateRoot() => new("Histoscale: AI on whole-slide images")
    {
        InfoCommand.Create(),
        RegionCommand.Create(),
        AssociatedCommand.Create(),
        ThumbnailCommand.Create(),
        SynthCommand.Create(),
        InferCommand.Create(),
        QcCommand.Create(),
        DemoCommand.Create(),
        SampleModelCommand.Create(),
        QuantizeCommand.Create(),
        StainCommand.Create(),
        ServeCommand.Create(),
        SubmitCommand.Create(),
        WorkerCommand.Create(),
        QueueCommand.Create(),
        TokenCommand.Create(),
        BenchCommand.Create(),
        CostCommand.Create(),
        SimulateCommand.Create(),
        DeployCommand.Create(),
    };
}
