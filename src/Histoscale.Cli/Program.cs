using Histoscale.Cli;

// Object stores (s3://, az://, gs://) become byte sources for every verb that takes a slide.
Histoscale.Storage.StorageProviders.RegisterAll();
return await CliRunner.RunAsync(HistoscaleCommands.CreateRoot(), args);
