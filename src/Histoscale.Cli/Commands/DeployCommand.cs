using System.CommandLine;
using Histoscale.Deploy;

namespace Histoscale.Cli.Commands;

/// <summary><c>histoscale deploy render</c>: Kubernetes + KEDA, ECS/Fargate or Container Apps files from deploy.yaml.</summary>
public static class DeployCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "k8s (kustomize base + cloud overlay, KEDA), ecs (Fargate; aws) or containerapps (azure)", Required = true };
        var cloud = new Option<string>("--cloud") { Description = "aws, azure or gcp", Required = true };
        var gpu = new Option<string>("--gpu") { Description = "Inference servers' GPU: none, t4, l4, a10g, a100 or h100", DefaultValueFactory = _ => "none" };
        var arch = new Option<string>("--arch") { Description = "CPU architecture of the CPU workloads: amd64 or arm64 (Graviton, Ampere, Axion)", DefaultValueFactory = _ => "amd64" };
        var config = new Option<string?>("--config") { Description = "deploy.yaml (image, queue, output, sizes, scaling bounds); every field has a default" };
        var output = new Option<string>("--out") { Description = "Folder to write the files into", Required = true };

        var render = new Command("render", "Write the deployment files of one target and cloud from deploy.yaml")
        {
            target, cloud, gpu, arch, config, output,
        };
        render.SetAction((ParseResult r) =>
        {
            var configPath = r.GetValue(config);
            var yaml = configPath is null ? null : File.ReadAllText(configPath);
            var files = DeployRenderer.Render(new RenderRequest
            {
                Target = r.GetValue(target)!,
                Cloud = r.GetValue(cloud)!,
                Gpu = r.GetValue(gpu)!,
                Arch = r.GetValue(arch)!,
            }, yaml, configPath ?? "deploy.yaml");
            var root = r.GetValue(output)!;
            foreach (var file in files)
            {
                var path = Path.Combine(root, file.Path.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, file.Content);
            }
            r.InvocationConfiguration.Output.WriteLine($"wrote {files.Count} files under {root}");
            return 0;
        });

        var init = new Command("init", "Print deploy.yaml with every field at its default (a starting point)");
        init.SetAction((ParseResult r) =>
        {
            r.InvocationConfiguration.Output.Write(DeployRenderer.DefaultConfigYaml());
            return 0;
        });

        return new Command("deploy", "Deployment files for AWS, Azure and GCP from one description (docs/deploy.md)") { render, init };
    }
}
