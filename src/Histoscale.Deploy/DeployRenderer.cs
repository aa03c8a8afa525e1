namespace Histoscale.Deploy;

/// <summary>
/// Renders the deployment files of one target (Kubernetes with KEDA, ECS on Fargate, Azure Container Apps) on one
/// cloud from deploy.yaml. Validates everything first: an unknown target, cloud, GPU or architecture, a GPU the
/// target or cloud does not offer, or an invalid size throws <see cref="DeployConfigException"/>.
/// </summary>
public static class DeployRenderer
{
    /// <summary>Renders the files; <paramref name="configYaml"/> is deploy.yaml's text (null or empty: every default).</summary>
    /// <param name="request">Target, cloud, GPU and architecture.</param>
    /// <param name="configYaml">deploy.yaml's text, or null.</param>
    /// <param name="configSource">Name of the config in error messages (its path).</param>
    public static IReadOnlyList<RenderedFile> Render(RenderRequest request, string? configYaml, string configSource = "deploy.yaml")
    {
        ArgumentNullException.ThrowIfNull(request);
        var ctx = RenderContext.Create(request, DeploySpec.Parse(configYaml, configSource));
        return request.Target switch
        {
            "k8s" => KubernetesRenderer.Render(ctx),
            "ecs" => EcsRenderer.Render(ctx),
            _ => ContainerAppsRenderer.Render(ctx),
        };
    }

    /// <summary>deploy.yaml with every field at its default value, to start a description from.</summary>
    public static string DefaultConfigYaml() => new YamlDotNet.Serialization.SerializerBuilder()
        .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.CamelCaseNamingConvention.Instance)
        .WithQuotingNecessaryStrings()
        .Build()
        .Serialize(new DeploySpec());
}
