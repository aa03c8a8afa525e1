using System.CommandLine;
using Histoscale.Synthesis.Models;
using Histoscale.Inference.Repository;
using Histoscale.Synthesis;

namespace Histoscale.Cli.Commands;

/// <summary>
/// <c>histoscale demo [--out DIR]</c>: synthesises a sample H&amp;E slide and the sample tissue classifier (a model
/// repository built by the project), runs <c>infer</c> on it and prints where the outputs are. Nothing is
/// downloaded and no server is started.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for the sample slide, model and outputs", DefaultValueFactory = _ => "histoscale-demo" };
        var width = new Option<int>("--width") { Description = "Sample slide width", DefaultValueFactory = _ => 8000 };
        var height = new Option<int>("--height") { Description = "Sample slide height", DefaultValueFactory = _ => 6000 };
        var command = new Command("demo", "Synthesise a sample slide and model, run inference on it, and show where the outputs are") { output, width, height };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var dir = Path.GetFullPath(r.GetValue(output)!);
            var stdout = r.InvocationConfiguration.Output;
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"{dir}: cannot create the demo folder ({ex.Message})");
            }
            var slide = Path.Combine(dir, "sample.svs");
            if (!File.Exists(slide))
            {
                stdout.WriteLine($"synthesising {slide} ({r.GetValue(width)}×{r.GetValue(height)}, Aperio SVS)...");
                var temp = slide + ".partial";
                SlideSynthesizer.Write(temp, new SynthOptions { Width = r.GetValue(width), Height = r.GetValue(height), Layout = SynthLayout.Svs }, ct);
                File.Move(temp, slide, overwrite: true);
            }
            var model = ModelRepositoryWriter.Write(Path.Combine(dir, "models"), DemoModels.TissueClassifier());
            stdout.WriteLine($"sample model: {model} (background / stroma / nuclei_rich from stain colour statistics)");
            var outputs = Path.Combine(dir, "out");
            var code = await InferCommand.RunAsync(
                new InferCommand.Request { Slides = [slide], Model = model, Out = outputs },
                stdout, r.InvocationConfiguration.Error, live: stdout == Console.Out && !Console.IsOutputRedirected, ct);
            if (code == CliRunner.Ok)
            {
                stdout.WriteLine("open sample.heatmap.tif over sample.svs, or import sample.geojson into QuPath / sample.annotation.json into HistomicsUI:");
                foreach (var file in Directory.EnumerateFiles(outputs).Order(StringComparer.Ordinal))
                {
                    stdout.WriteLine($"  {file}");
                }
            }
            return code;
        });
        return command;
    }
}
