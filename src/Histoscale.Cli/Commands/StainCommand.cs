using System.CommandLine;
using Histoscale.Pipeline.Staining;
using Histoscale.Slides;
using Histoscale.Stain;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale stain fit SLIDE --method macenko|reinhard|vahadane --out target.json</c>: a slide's stain
/// parameters, estimated on its tissue at low resolution, written as a target for <c>infer --stain-normalize</c>.
/// </summary>
public static class StainCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "Slide path or URI whose stain becomes the target" };
        var method = new Option<string>("--method") { Description = "macenko, reinhard or vahadane", Required = true };
        var output = new Option<string>("--out") { Description = "Target file to write (JSON)", Required = true };
        var fit = new Command("fit", "Estimate a slide's stain (tissue only, low resolution) and write it as a normalisation target") { slideArg, method, output };
        fit.SetAction((ParseResult r) =>
        {
            var m = StainFlags.ParseMethod(r.GetValue(method), "--method");
            var host = HostContext.FromEnvironment();
            var target = StainFlags.FitSlide(r.GetValue(slideArg)!, m, host.Slides);
            var path = r.GetValue(output)!;
            try
            {
                File.WriteAllText(path, target.ToJson() + Environment.NewLine);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"--out {path}: cannot write ({ex.Message})");
            }
            r.InvocationConfiguration.Output.WriteLine($"{m.Name()} target of {r.GetValue(slideArg)} written to {path}");
            return 0;
        });
        return new Command("stain", "Stain normalisation targets (see infer --stain-normalize)") { fit };
    }
}

/// <summary><c>--stain-normalize METHOD --stain-target target.json|SLIDE</c>, shared by <c>infer</c> and <c>quantize</c>.</summary>
internal sealed class StainFlags
{
    public Option<string?> Normalize { get; } = new("--stain-normalize") { Description = "Normalise every tile's stain: macenko, reinhard or vahadane (needs --stain-target)" };

    public Option<string?> Target { get; } = new("--stain-target") { Description = "Stain target: a target.json from 'stain fit', or a slide to fit it from" };

    /// <summary>The normalisation asked for, its target read or fitted; null when neither flag is given.</summary>
    public StainNormalization? Read(ParseResult r, SlideOptions slides) => Resolve(r.GetValue(Normalize), r.GetValue(Target), slides);

    internal static StainNormalization? Resolve(string? method, string? target, SlideOptions slides)
    {
        if (method is null && target is null)
        {
            return null;
        }
        if (method is null)
        {
            throw new InputException("--stain-target needs --stain-normalize macenko|reinhard|vahadane");
        }
        var m = ParseMethod(method, "--stain-normalize");
        if (target is null)
        {
            throw new InputException($"--stain-normalize {m.Name()} needs --stain-target target.json|SLIDE");
        }
        var parameters = IsJson(target) ? StainParameters.Load(target) : FitSlide(target, m, slides);
        if (parameters.Method != m)
        {
            throw new InputException($"--stain-target {target} is a {parameters.Method.Name()} target, but --stain-normalize is {m.Name()}");
        }
        return new StainNormalization { Target = parameters, TargetSource = target };
    }

    public static StainMethod ParseMethod(string? text, string flag)
    {
        try
        {
            return StainMethods.Parse(text);
        }
        catch (StainException ex)
        {
            throw new InputException($"{flag}: {ex.Message}");
        }
    }

    /// <summary>A .json file, or a local file whose first character is '{': a target, not a slide.</summary>
    private static bool IsJson(string path)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (!File.Exists(path))
        {
            return false;
        }
        using var reader = new StreamReader(path);
        int c;
        while ((c = reader.Read()) >= 0 && char.IsWhiteSpace((char)c))
        {
        }
        return c == '{';
    }

    public static StainParameters FitSlide(string slidePath, StainMethod method, SlideOptions slides)
    {
        using var slide = Slide.Open(slidePath, slides);
        return SlideStain.Fit(slide, method);
    }
}
