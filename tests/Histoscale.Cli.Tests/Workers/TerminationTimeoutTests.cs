namespace Histoscale.Cli.Tests.Workers;

/// <summary>
/// How long System.CommandLine waits after SIGTERM before it ends the process: a worker's <c>--grace</c> decides
/// (with a margin to return the slide), other verbs keep the fixed timeout.
/// </summary>
public sealed class TerminationTimeoutTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(600)]
    [InlineData(3600)]
    public void AWorkersGraceIsNeverCutShortBySystemCommandLine(double grace)
    {
        var parse = HistoscaleCommands.CreateRoot().Parse(["worker", "--queue", "redis://127.0.0.1:1", "--grace", grace.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Empty(parse.Errors);
        var timeout = CliRunner.TerminationTimeout(parse);
        Assert.True(timeout >= TimeSpan.FromSeconds(grace) + CliRunner.WorkerTerminationMargin, $"--grace {grace}: the process would be ended after {timeout}");
    }

    [Fact]
    public void OtherVerbsKeepTheDefaultTimeout()
    {
        var parse = HistoscaleCommands.CreateRoot().Parse(["queue", "status", "--queue", "redis://127.0.0.1:1"]);
        Assert.Equal(CliRunner.DefaultTerminationTimeout, CliRunner.TerminationTimeout(parse));
        var worker = HistoscaleCommands.CreateRoot().Parse(["worker", "--queue", "redis://127.0.0.1:1"]);
        Assert.True(CliRunner.TerminationTimeout(worker) >= CliRunner.DefaultTerminationTimeout);
    }
}
