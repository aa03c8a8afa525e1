using Histoscale.Cli;

return await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args);
