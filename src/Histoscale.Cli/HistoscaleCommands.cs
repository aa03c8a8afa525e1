using System.CommandLine;
using Histoscale.Cli.Commands;

namespace Histoscale.Cli;

/// <summary>The <c>histoscale</c> command tree (one file per verb under Commands/).</summary>
public static class HistoscaleCommands
{
    /// <summary>
    /// <c>--dicomweb-token</c>, on every verb: the bearer token for DICOMweb slide URLs (else HISTOSCALE_DICOMWEB_TOKEN);
    /// <see cref="CliRunner"/> hands it to <see cref="HostContext"/> for the invocation.
    /// </summary>
    public const string DicomWebTokenOption = "--dicomweb-token";

    public static RootCommand CreateRoot()
    {
        var root = Verbs();
        root.Options.Add(new Option<string>(DicomWebTokenOption)
        {
            Description = "Bearer token for DICOMweb series URLs (http(s)://HOST/PATH/studies/S/series/S); default: HISTOSCALE_DICOMWEB_TOKEN",
            Recursive = true,
        });
        return root;
    }

    private static RootCommand Verbs() => new("Histoscale: AI on whole-slide images")
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
