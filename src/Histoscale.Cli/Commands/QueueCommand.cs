using System.CommandLine;
using System.Text.Json;
using Histoscale.Workers.Brokers;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale queue status|retry-dead --queue URL</c>: a queue's counts; dead letters back onto the queue.</summary>
public static class QueueCommand
{
    public static Command Create()
    {
        var queue = QueueFlags.Queue();
        var connectAttempts = QueueFlags.ConnectAttempts();
        var json = new Option<bool>("--json") { Description = "Print {\"pending\",\"running\",\"completed\",\"failed\",\"deadLettered\"} (null where the broker does not tell)" };
        var status = new Command("status", "Jobs pending, running, completed, failed and dead-lettered") { queue, connectAttempts, json };
        status.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            QueueFlags.Check(r.GetValue(connectAttempts));
            await using var q = await JobQueues.OpenAsync(r.GetValue(queue)!, QueueFlags.Options(r.GetValue(connectAttempts)), ct);
            var s = await q.StatusAsync(ct);
            var output = r.InvocationConfiguration.Output;
            if (r.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new { pending = s.Pending, running = s.Running, completed = s.Completed, failed = s.Failed, deadLettered = s.DeadLettered }, CliJson.Compact));
            }
            else
            {
                static string Show(long? v) => v?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a (the broker does not tell)";
                output.WriteLine($"{q.Name}\n  pending       {s.Pending}\n  running       {Show(s.Running)}\n  completed     {Show(s.Completed)}\n  failed        {Show(s.Failed)}\n  dead-lettered {s.DeadLettered}");
            }
            return CliRunner.Ok;
        });
        var retryQueue = QueueFlags.Queue();
        var retryAttempts = QueueFlags.ConnectAttempts();
        var retry = new Command("retry-dead", "Move every dead-lettered job back onto the queue, its attempts reset") { retryQueue, retryAttempts };
        retry.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            QueueFlags.Check(r.GetValue(retryAttempts));
            await using var q = await JobQueues.OpenAsync(r.GetValue(retryQueue)!, QueueFlags.Options(r.GetValue(retryAttempts)), ct);
            var moved = await q.RetryDeadAsync(ct);
            r.InvocationConfiguration.Output.WriteLine($"{moved} dead-lettered job{(moved == 1 ? "" : "s")} back on {q.Name}");
            return CliRunner.Ok;
        });
        return new Command("queue", "Inspect and repair a job queue") { status, retry };
    }
}
