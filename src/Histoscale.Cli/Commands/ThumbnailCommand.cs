using System.CommandLine;
using Histoscale.Slides;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale thumbnail SLIDE --max 1024 --output f</c>.</summary>
public static class ThumbnailCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI" };
        var max = new Option<int>("--max") { Description = "Longest side in pixels", DefaultValueFactory = _ => 1024 };
        var output = new Option<string>("--output", "-o") { Description = "Output image (.png, .jpg)", Required = true };
        var command = new Command("thumbnail", "Write a thumbnail of the whole slide") { slideArg, max, output };
        command.SetAction((ParseResult r) =>
        {
            var m = r.GetValue(max);
            if (m <= 0 || m > 16384)
            {
                throw new InputException($"--max {m} must be between 1 and 16384");
            }
            using var slide = Slide.Open(r.GetValue(slideArg)!, HostContext.FromEnvironment().Slides);
            OutputFiles.Save(slide.GetThumbnail(m), r.GetValue(output)!);
            return 0;
        });
        return command;
    }
}
