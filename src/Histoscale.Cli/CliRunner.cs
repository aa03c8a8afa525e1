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
        var err = stderr ?? Console.Error;
        try
        {
            var parse = root.Parse(args);
            var config = new InvocationConfiguration
            {
                Output = stdout ?? Console.Out,
                Error = err,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = TerminationTimeout(parse),
            };
            if (UnknownOption(parse) is { } unknown)
            {
                err.WriteLine($"histoscale: {parse.CommandResult.Command.Name}: unknown option '{unknown}' (see --help)");
                return BadInput;
            }
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors)
                {
                    err.WriteLine($"histoscale: {OneLine(e.Message)}");
                }
                return BadInput;
            }
            // --dicomweb-token: for this invocation's HostContext (an async-local, so concurrent in-process runs keep theirs).
            // A root built by a test or an embedding host may lack the option: then there is no flag to read.
            var tokenOption = parse.RootCommandResult.Command.Options.OfType<Option<string>>().FirstOrDefault(o => o.Name == HistoscaleCommands.DicomWebTokenOption);
            HostContext.DicomWebTokenFlag.Value = tokenOption is not null && parse.GetValue(tokenOption) is { Length: > 0 } token ? token : null;
            HostContext.ErrorWriter.Value = err;
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
                err.WriteLine(UrlRedaction.Redact(ex.ToString()));
            }
            return Failure;
        }
    }

    /// <summary>Time given to a verb between SIGINT/SIGTERM (its token cancelled) and System.CommandLine ending the process.</summary>
    public static readonly TimeSpan DefaultTerminationTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Extra time a worker gets beyond its <c>--grace</c>: to cancel, checkpoint and return the slides in hand.</summary>
    public static readonly TimeSpan WorkerTerminationMargin = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long, after SIGINT/SIGTERM, System.CommandLine waits for the verb before it ends the process (exit 130/143).
    /// Every verb gets <see cref="DefaultTerminationTimeout"/> (time for a running batch to finish and the checkpoint
    /// to be written; System.CommandLine's own default is 2 s), except <c>worker</c>, whose own grace handling decides:
    /// its <c>--grace</c> plus <see cref="WorkerTerminationMargin"/>, so a long grace is never cut short.
    /// </summary>
    public static TimeSpan TerminationTimeout(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command;
        if (command.Name == "worker"
            && command.Options.OfType<Option<double>>().FirstOrDefault(o => o.Name == "--grace") is { } graceOption
            && parse.GetValue(graceOption) is var grace && grace >= 0 && double.IsFinite(grace))
        {
            var wanted = TimeSpan.FromSeconds(Math.Min(grace, TimeSpan.MaxValue.TotalSeconds / 4)) + WorkerTerminationMargin;
            return wanted > DefaultTerminationTimeout ? wanted : DefaultTerminationTimeout;
        }
        return DefaultTerminationTimeout;
    }

    /// <summary>
    /// The first token that looks like an option (<c>--name</c>, or <c>-x</c> with a letter) but was taken as a value:
    /// System.CommandLine hands a token no option of the verb matches to a variadic argument (a slide path) or to the
    /// option before it, so <c>infer SLIDE --stain-normalize macenko</c> would otherwise run with two more "slides".
    /// Tokens after <c>--</c> are values whatever they look like (a file named <c>-x</c>); negative numbers are values.
    /// </summary>
    public static string? UnknownOption(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var end = parse.Tokens.Count;
        for (var i = 0; i < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Type == System.CommandLine.Parsing.TokenType.DoubleDash)
            {
                end = i;
                break;
            }
        }
        for (var i = 0; i < end; i++)
        {
            var token = parse.Tokens[i];
            if (token.Type == System.CommandLine.Parsing.TokenType.Argument && LooksLikeOption(token.Value))
            {
                return token.Value;
            }
        }
        return parse.UnmatchedTokens.FirstOrDefault(LooksLikeOption);
    }

    private static bool LooksLikeOption(string value) =>
        (value.Length > 2 && value.StartsWith("--", StringComparison.Ordinal)) || (value.Length >= 2 && value[0] == '-' && char.IsAsciiLetter(value[1]));

    /// <summary>Errors caused by what the user gave us (file, model, flags), as opposed to our bugs or the environment.</summary>
    public static bool IsInputError(Exception ex) => ex switch
    {
        SlideException => true,
        InputException => true,
        Histoscale.Stain.StainException => true,
        FileNotFoundException => true,
        DirectoryNotFoundException => true,
        UnauthorizedAccessException => true,
        AggregateException agg => agg.InnerExceptions.Count > 0 && agg.InnerExceptions.All(IsInputError),
        _ => ex.GetType().Name.EndsWith("ConfigException", StringComparison.Ordinal),
    };

    private static string OneLine(string s) => UrlRedaction.Redact(s.ReplaceLineEndings(" ").Trim());
}

/// <summary>A user error detected by the CLI itself (bad flag combination, unwritable output...).</summary>
public sealed class InputException(string message) : Exception(message);
