using System.CommandLine;
using Histoscale.Cli;
using Histoscale.Cli.Commands;

var root = new RootCommand("Histoscale: AI on whole-slide images")
{
    InfoCommand.Create(),
    RegionCommand.Create(),
    AssociatedCommand.Create(),
    ThumbnailCommand.Create(),
    SynthCommand.Create(),
    BenchCommand.Create(),
    InferCommand.Create(),
    DemoCommand.Create(),
};
return await CliRunner.RunAsync(root, args);
