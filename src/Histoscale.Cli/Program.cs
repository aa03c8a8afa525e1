using System.CommandLine;
using Histoscale.Cli;

var root = new RootCommand("Histoscale: AI on whole-slide images");
return await CliRunner.RunAsync(root, args);
