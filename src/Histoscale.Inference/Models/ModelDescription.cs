using System.Globalization;
using Histoscale.Inference.Config;
using Histoscale.Inference.Repository;

namespace Histoscale.Inference.Models;

/// <summary>
/// Everything known about one model version before it runs: the Triton config (read or completed from the ONNX
/// file), the ONNX signature it was validated against, and Histoscale's block (tile size, µm/px, normalisation,
/// layout, output kind, classes). Built by <see cref="Load"/> from what a user passes as <c>--model</c>; every
/// inconsistency is a <see cref="ModelConfigException"/> thrown here, before any slide is opened.
/// </summary>
public sealed class ModelDescription
{
    /// <summary>max_batch_size given to a bare .onnx with a dynamic batch axis unless <see cref="ModelOverrides.MaxBatchSize"/> says otherwise.</summary>
    public const int DefaultMaxBatchSize = 64;

    private ModelDescription(string modelPath, string? configPath, long version, ModelConfig config, ModelSignature signature, HistoscaleParameters parameters)
    {
        ModelPath = modelPath;
        ConfigPath = configPath;
        Version = version;
        Config = config;
        Signature = signature;
        Parameters = parameters;
        Resolve();
    }

    /// <summary>The model's name: its config's <c>name</c>; for a bare .onnx the file name without extension unless overridden.</summary>
    public string Name => Config.Name;

    /// <summary>The model version described (a repository version directory; 1 when there is none).</summary>
    public long Version { get; }

    /// <summary>The .onnx file to execute.</summary>
    public string ModelPath { get; }

    /// <summary>The config.pbtxt read, or null for a bare .onnx / a directory without one.</summary>
    public string? ConfigPath { get; }

    /// <summary>The Triton config, completed from the model where it was silent (what the server returns for <c>/config</c>).</summary>
    public ModelConfig Config { get; }

    /// <summary>What the ONNX file itself declares.</summary>
    public ModelSignature Signature { get; }

    /// <summary>Histoscale's block with command-line overrides applied.</summary>
    public HistoscaleParameters Parameters { get; }

    /// <summary>The config's max_batch_size; 0 when the model has no batch dimension.</summary>
    public int MaxBatchSize => Config.MaxBatchSize;

    /// <summary>The input that receives image tiles (KServe shape, batch dim -1).</summary>
    public TensorSpec ImageInput { get; private set; } = null!;

    /// <summary>The output the pipeline reads.</summary>
    public TensorSpec PrimaryOutput { get; private set; } = null!;

    /// <summary>Layout of <see cref="ImageInput"/>.</summary>
    public TensorFormat Layout { get; private set; }

    /// <summary>Square tile edge in pixels, or null when the model accepts any size and none was given.</summary>
    public int? TileSize { get; private set; }

    /// <summary>Input pixels per output pixel for dense outputs (1 otherwise).</summary>
    public int DenseStride { get; private set; } = 1;

    /// <summary>KServe v2 metadata derived from the config (full shapes, -1 batch).</summary>
    public BackendMetadata Metadata { get; private set; } = null!;

    /// <summary>
    /// Resolves a <c>--model</c> argument: a model directory (<c>REPO/NAME</c>, with or without config.pbtxt) or a
    /// bare <c>.onnx</c> file.
    /// </summary>
    public static ModelDescription Load(string model, ModelOverrides? overrides = null)
    {
        if (File.Exists(model))
        {
            if (!model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                throw new ModelConfigException("expected a .onnx file or a model directory (REPO/NAME)", file: model);
            }
            return FromOnnxFile(model, overrides);
        }
        if (Directory.Exists(model))
        {
            return FromRepository(RepositoryModel.Load(model), null, overrides);
        }
        throw new ModelConfigException("no such model: expected a .onnx file or a model directory REPO/NAME containing config.pbtxt and 1/model.onnx", file: model);
    }

    /// <summary>One version (default: latest served) of a repository model.</summary>
    public static ModelDescription FromRepository(RepositoryModel repositoryModel, long? version = null, ModelOverrides? overrides = null)
    {
        var config = repositoryModel.Config;
        var configPath = repositoryModel.HasConfigFile ? Path.Combine(repositoryModel.Directory, ModelRepository.ConfigFileName) : null;
        var v = version ?? repositoryModel.LatestVersion;
        var path = repositoryModel.ResolveModelFile(v);
        var signature = ModelSignature.ReadOnnx(path, config.Name);
        ModelSignatureValidator.CompleteAndValidate(config, signature, configPath, overrides?.MaxBatchSize ?? DefaultMaxBatchSize);
        var parameters = HistoscaleParameters.FromConfigParameters(config.Parameters, config.Name, configPath);
        return new ModelDescription(path, configPath, v, config, signature, overrides?.ApplyTo(parameters) ?? parameters);
    }

    /// <summary>
    /// A model served by a KServe v2 / Triton server: the server's (completed) config and metadata stand in for the
    /// file, and Histoscale's block comes from the config's <c>histoscale.*</c> parameters plus the overrides.
    /// </summary>
    public static ModelDescription FromServer(string serverUrl, ModelConfig config, BackendMetadata metadata, ModelOverrides? overrides = null)
    {
        var signature = new ModelSignature(metadata.Inputs, metadata.Outputs);
        var parameters = HistoscaleParameters.FromConfigParameters(config.Parameters, config.Name, null);
        var version = long.TryParse(metadata.Version, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 1;
        return new ModelDescription($"{serverUrl.TrimEnd('/')}/{config.Name}", null, version, config, signature, overrides?.ApplyTo(parameters) ?? parameters);
    }

    /// <summary>A bare .onnx: shapes and datatypes from the model, the rest from <paramref name="overrides"/>.</summary>
    public static ModelDescription FromOnnxFile(string path, ModelOverrides? overrides = null)
    {
        path = Path.GetFullPath(path);
        var name = overrides?.Name ?? Path.GetFileNameWithoutExtension(path);
        var signature = ModelSignature.ReadOnnx(path, name);
        var config = new ModelConfig { Name = name, Platform = "onnxruntime_onnx" };
        ModelSignatureValidator.CompleteAndValidate(config, signature, null, overrides?.MaxBatchSize ?? DefaultMaxBatchSize);
        var parameters = overrides?.ApplyTo(new HistoscaleParameters()) ?? new HistoscaleParameters();
        // Record what the user told us so a config written from this description reproduces it.
        parameters.WriteTo(config.Parameters);
        return new ModelDescription(path, null, 1, config, signature, parameters);
    }

    private void Resolve()
    {
        var batch = MaxBatchSize > 0;
        TensorSpec Spec(ModelTensorConfig c) => new(c.Name, c.DataType, batch ? [-1, .. c.Dims] : [.. c.Dims]);
        var inputs = Config.Inputs.Select(Spec).ToList();
        var outputs = Config.Outputs.Select(Spec).ToList();
        Metadata = new BackendMetadata(Name, Version.ToString(CultureInfo.InvariantCulture), "onnxruntime_onnx", MaxBatchSize, inputs, outputs);

        ImageInput = Pick(inputs, Parameters.InputName, "input", HistoscaleParameters.InputKey);
        PrimaryOutput = Pick(outputs, Parameters.OutputName, "output", HistoscaleParameters.OutputKey);

        var inputConfig = Config.Inputs.First(i => i.Name == ImageInput.Name);
        var shape = ImageInput.Shape;
        Layout = Parameters.Layout
            ?? (inputConfig.Format != TensorFormat.None ? inputConfig.Format
            : shape.Length == 4 && shape[3] == 3 && shape[1] != 3 ? TensorFormat.Nhwc : TensorFormat.Nchw);

        if (shape.Length == 4)
        {
            var (c, h, w) = Layout == TensorFormat.Nhwc ? (shape[3], shape[1], shape[2]) : (shape[1], shape[2], shape[3]);
            if (c != -1 && c != 3)
            {
                throw Error($"image input '{ImageInput.Name}' has {c} channels in {Layout} layout; expected 3 (set histoscale.layout if the layout is wrong)", HistoscaleParameters.LayoutKey);
            }
            if (h > 0 && w > 0 && h != w)
            {
                throw Error($"image input '{ImageInput.Name}' is {h}×{w}; only square tiles are supported", "input");
            }
            var modelSize = h > 0 ? (int?)h : w > 0 ? (int?)w : null;
            if (Parameters.TileSize is { } t && modelSize is { } m && t != m)
            {
                throw Error($"tile size {t} does not match the model input '{ImageInput.Name}' [{string.Join(',', shape)}] which takes {m}×{m}", HistoscaleParameters.TileSizeKey);
            }
            TileSize = Parameters.TileSize ?? modelSize;
        }
        else
        {
            TileSize = Parameters.TileSize;
        }

        var classes = Parameters.ClassNames.Length;
        if (Parameters.ClassColors.Length > 0 && Parameters.ClassColors.Length != classes)
        {
            throw Error($"{Parameters.ClassColors.Length} class colours for {classes} class names", HistoscaleParameters.ClassColorsKey);
        }
        var outShape = PrimaryOutput.Shape;
        switch (Parameters.OutputKind)
        {
            case OutputKind.ClassScores when classes > 0 && outShape.Length >= 1 && outShape[^1] > 0 && outShape[^1] != classes:
                throw Error($"{classes} class names but output '{PrimaryOutput.Name}' [{string.Join(',', outShape)}] has {outShape[^1]} values per tile", HistoscaleParameters.ClassNamesKey);
            case OutputKind.Dense:
                {
                    if (outShape.Length != 4)
                    {
                        throw Error($"dense output '{PrimaryOutput.Name}' must be [N,C,h,w], is [{string.Join(',', outShape)}]", HistoscaleParameters.OutputKindKey);
                    }
                    if (classes > 0 && outShape[1] > 0 && outShape[1] != classes)
                    {
                        throw Error($"{classes} class names but dense output '{PrimaryOutput.Name}' has {outShape[1]} channels", HistoscaleParameters.ClassNamesKey);
                    }
                    if (Parameters.DenseStride is { } s)
                    {
                        DenseStride = s;
                    }
                    else if (TileSize is { } tile && outShape[2] > 0 && tile % outShape[2] == 0)
                    {
                        DenseStride = tile / (int)outShape[2];
                    }
                    else
                    {
                        throw Error("dense output needs histoscale.dense_stride (cannot derive it from the shapes)", HistoscaleParameters.DenseStrideKey);
                    }
                    break;
                }
        }
    }

    private TensorSpec Pick(List<TensorSpec> specs, string? wanted, string kind, string key)
    {
        if (wanted is not null)
        {
            return specs.FirstOrDefault(s => s.Name == wanted)
                ?? throw Error($"{kind} '{wanted}' does not exist (have: {string.Join(", ", specs.Select(s => s.Name))})", key);
        }
        if (specs.Count == 0)
        {
            throw Error($"the model has no {kind}", kind);
        }
        if (kind == "input" && specs.Count > 1)
        {
            throw Error($"the model has {specs.Count} inputs ({string.Join(", ", specs.Select(s => s.Name))}); set {key} to the image input", key);
        }
        return specs[0];
    }

    private ModelConfigException Error(string message, string field) =>
        new(message, model: Name, file: ConfigPath ?? ModelPath, field: field.StartsWith(HistoscaleParameters.Prefix, StringComparison.Ordinal) ? $"parameters[{field}]" : field);
}
