using System.CommandLine;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale region SLIDE --x --y --width --height [--level] --output</c>.</summary>
public static class RegionCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI" };
        var x = new Option<long>("--x") { Description = "Left, in level-0 pixels", Required = true };
        var y = new Option<long>("--y") { Description = "Top, in level-0 pixels", Required = true };
        var width = new Option<int>("--width") { Description = "Width in pixels of the level", Required = true };
        var height = new Option<int>("--height") { Description = "Height in pixels of the level", Required = true };
        var level = new Option<int>("--level") { Description = "Pyramid level", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Output image (.png RGBA, .jpg)", Required = true };
        var command = new Command("region", "Read a region to an image file") { slideArg, x, y, width, height, level, output };
        command.SetAction((ParseResult r) =>
        {
            using var slide = Slide.Open(r.GetValue(slideArg)!, HostContext.FromEnvironment().Slides);
            var lvl = r.GetValue(level);
            if (lvl < 0 || lvl >= slide.Levels.Count)
            {
                throw new InputException($"{slide.Source}: level {lvl} does not exist (the slide has {slide.Levels.Count} levels)");
            }
            var (w, h) = (r.GetValue(width), r.GetValue(height));
            if (w <= 0 || h <= 0 || (long)w * h > Slide.MaxRegionPixels)
            {
                throw new InputException($"region size {w}x{h} must be positive and at most {Slide.MaxRegionPixels} pixels");
            }
            var image = slide.ReadRegion(lvl, r.GetValue(x), r.GetValue(y), w, h);
            OutputFiles.Save(image, r.GetValue(output)!);
            return 0;
        });
        return command;
    }
}
