using System.CommandLine;
using Histoscale.Slides;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale associated SLIDE NAME --output out.png</c>.</summary>
public static class AssociatedCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI" };
        var name = new Argument<string>("name") { Description = "thumbnail, label or macro" };
        var output = new Option<string>("--output", "-o") { Description = "Output image (.png, .jpg)", Required = true };
        var command = new Command("associated", "Write an associated image (label, macro, thumbnail)") { slideArg, name, output };
        command.SetAction((ParseResult r) =>
        {
            using var slide = Slide.Open(r.GetValue(slideArg)!, HostContext.FromEnvironment().Slides);
            OutputFiles.Save(slide.ReadAssociatedImage(r.GetValue(name)!), r.GetValue(output)!);
            return 0;
        });
        return command;
    }
}
