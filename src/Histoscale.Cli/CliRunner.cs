using System.CommandLine;
using Histoscale.Slides;

namespace Histoscale.Cli;

/// <summary>Maps outcomes to the CLI's exit-code contract: 0 success, 2 unreadable/invalid input, 1 anything else.</summary>
public static class CliRunner
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;

    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var config = new InvocationConfiguration
        {
            Output = stdout ?? Console.Out,
            Error = stderr ?? Console.Error,
            EnableDefaultExceptionHandler = false,
            // Ctrl-C cancels the token; give a running batch time to finish and the checkpoint time to be written
            // before the process is torn down (System.CommandLine's default is 2 s).
            ProcessTerminationTimeout = TimeSpan.FromSeconds(60),
        };
        var err = config.Error;
        try
        {
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors)
                {
                    err.WriteLine($"histoscale: {e.Message}");
                }
                return BadInput;
            }
            return await parse.InvokeAsync(config);
        }
        catch (Exception ex) when (IsInputError(ex))
        {
            err.WriteLine($"histoscale: {OneLine(ex.Message)}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            err.WriteLine("histoscale: cancelled");
            return Failure;
        }
        catch (Exception ex)
        {
            err.WriteLine($"histoscale: error: {OneLine(ex.Message)} ({ex.GetType().Name})");
            if (Environment.GetEnvironmentVariable("HISTOSCALE_DEBUG") == "1")
            {
                err.WriteLine(ex);
            }
            return Failure;
        }
    }

    /// <summary>Errors caused by what the user gave us (file, model, flags), as opposed to our bugs or the environment.</summary>
    public static bool IsInputError(Exception ex) => ex switch
    {
        SlideException => true,
        InputException => true,
        FileNotFoundException => true,
        DirectoryNotFoundException => true,
        UnauthorizedAccessException => true,
        AggregateException agg => agg.InnerExceptions.Count > 0 && agg.InnerExceptions.All(IsInputError),
        _ => ex.GetType().Name.EndsWith("ConfigException", StringComparison.Ordinal),
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

/// <summary>A user error detected by the CLI itself (bad flag combination, unwritable output...).</summary>
public sealed class InputException(string message) : Exception(message);
