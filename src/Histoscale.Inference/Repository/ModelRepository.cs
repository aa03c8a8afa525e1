using System.Globalization;
using Histoscale.Inference.Config;

namespace Histoscale.Inference.Repository;

/// <summary>
/// A Triton-layout model repository: <c>ROOT/NAME/config.pbtxt</c> and <c>ROOT/NAME/VERSION/model.onnx</c>.
/// Indexing never throws for one broken model (it is listed with its error, as Triton's repository index does);
/// <see cref="Open"/> throws a <see cref="ModelConfigException"/> naming what is wrong.
/// </summary>
public sealed class ModelRepository
{
    /// <summary>Name of a model's Triton config file in its directory.</summary>
    public const string ConfigFileName = "config.pbtxt";

    /// <summary>A repository rooted at <paramref name="root"/>; nothing is read until <see cref="Index"/> or <see cref="Open"/>.</summary>
    /// <exception cref="ModelConfigException"><paramref name="root"/> is not an existing directory.</exception>
    public ModelRepository(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new ModelConfigException("model repository directory does not exist", file: root);
        }
        Root = Path.GetFullPath(root);
    }

    /// <summary>Absolute path of the repository root.</summary>
    public string Root { get; }

    /// <summary>Every model directory in the repository, sorted by name, with its served versions or load error.</summary>
    public IReadOnlyList<RepositoryIndexEntry> Index()
    {
        var entries = new List<RepositoryIndexEntry>();
        foreach (var dir in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith('.'))
            {
                continue;
            }
            try
            {
                var model = Open(name);
                entries.Add(new RepositoryIndexEntry(name, model.ServedVersions, null));
            }
            catch (ModelConfigException ex)
            {
                entries.Add(new RepositoryIndexEntry(name, [], ex.Message));
            }
        }
        return entries;
    }

    /// <summary>Reads one model's config and version directories.</summary>
    public RepositoryModel Open(string name)
    {
        var dir = Path.Combine(Root, name);
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name is "." or ".." || !Directory.Exists(dir))
        {
            throw new ModelConfigException($"no model directory '{name}' in repository", model: name, file: Root);
        }
        return RepositoryModel.Load(dir);
    }
}

/// <summary>One line of the repository index: a model, the versions its policy serves, or why it cannot load.</summary>
/// <param name="Name">The model's directory name.</param>
/// <param name="Versions">Versions its version_policy serves, ascending; empty when it cannot load.</param>
/// <param name="Error">Why the model cannot load, or null.</param>
public sealed record RepositoryIndexEntry(string Name, IReadOnlyList<long> Versions, string? Error);

/// <summary>A model directory: its config (parsed, or a minimal one when the directory has none) and versions.</summary>
public sealed class RepositoryModel
{
    private RepositoryModel(string directory, ModelConfig config, bool hasConfigFile, IReadOnlyList<long> available, IReadOnlyList<long> served)
    {
        Directory = directory;
        Config = config;
        HasConfigFile = hasConfigFile;
        AvailableVersions = available;
        ServedVersions = served;
    }

    /// <summary>The model's name (its config's <c>name</c>).</summary>
    public string Name => Config.Name;

    /// <summary>The model's directory (<c>ROOT/NAME</c>).</summary>
    public string Directory { get; }

    /// <summary>The parsed config.pbtxt, or a minimal one when the directory has none.</summary>
    public ModelConfig Config { get; }

    /// <summary>False when the directory has no config.pbtxt and the config must be completed from the model (Triton's auto-complete).</summary>
    public bool HasConfigFile { get; }

    /// <summary>Numeric version directories present on disk, ascending.</summary>
    public IReadOnlyList<long> AvailableVersions { get; }

    /// <summary>The versions the config's version_policy selects, ascending.</summary>
    public IReadOnlyList<long> ServedVersions { get; }

    /// <summary>The newest served version.</summary>
    public long LatestVersion => ServedVersions.Count > 0
        ? ServedVersions[^1]
        : throw new ModelConfigException("no version directory matches the version_policy", model: Name, file: Directory, field: "version_policy");

    /// <summary>Loads a model directory (<c>REPO/NAME</c>) directly, without a repository object.</summary>
    public static RepositoryModel Load(string directory)
    {
        directory = Path.GetFullPath(directory);
        var name = Path.GetFileName(directory.TrimEnd(Path.DirectorySeparatorChar));
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ModelConfigException("model directory does not exist", model: name, file: directory);
        }
        var configPath = Path.Combine(directory, ModelRepository.ConfigFileName);
        var hasConfig = File.Exists(configPath);
        var config = hasConfig ? ModelConfigReader.ReadFile(configPath) : new ModelConfig { Platform = "onnxruntime_onnx" };
        if (config.Name.Length == 0)
        {
            config.Name = name;
        }
        else if (config.Name != name)
        {
            // Triton refuses this too: the directory name is the model's identity in URLs and metrics.
            throw new ModelConfigException($"config name '{config.Name}' does not match the model directory name '{name}'", model: name, file: configPath, field: "name");
        }
        if (config.Platform.Length > 0 && config.Platform != "onnxruntime_onnx")
        {
            throw new ModelConfigException($"platform '{config.Platform}' is not supported (only onnxruntime_onnx)", model: name, file: configPath, field: "platform");
        }
        if (config.Backend.Length > 0 && config.Backend != "onnxruntime")
        {
            throw new ModelConfigException($"backend '{config.Backend}' is not supported (only onnxruntime)", model: name, file: configPath, field: "backend");
        }
        var available = new List<long>();
        foreach (var sub in System.IO.Directory.EnumerateDirectories(directory))
        {
            if (long.TryParse(Path.GetFileName(sub), NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                available.Add(v);
            }
        }
        available.Sort();
        return new RepositoryModel(directory, config, hasConfig, available, config.VersionPolicy.Select(available));
    }

    /// <summary>The model file of a served version (the latest when <paramref name="version"/> is null).</summary>
    public string ResolveModelFile(long? version = null)
    {
        var v = version ?? LatestVersion;
        if (!ServedVersions.Contains(v))
        {
            throw new ModelConfigException(
                AvailableVersions.Contains(v) ? $"version {v} is not served by the version_policy" : $"version {v} does not exist",
                model: Name, file: Directory, field: "version");
        }
        var path = Path.Combine(Directory, v.ToString(CultureInfo.InvariantCulture), Config.ModelFileName);
        if (!File.Exists(path))
        {
            throw new ModelConfigException($"model file is missing (expected {Config.ModelFileName} in version directory {v})", model: Name, file: path);
        }
        return path;
    }
}
