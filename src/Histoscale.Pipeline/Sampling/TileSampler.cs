using System.Buffers;
using Histoscale.Inference.Models;
using Histoscale.Inference.Tensors;
using Histoscale.Pipeline.Execution;
using Histoscale.Pipeline.Planning;
using Histoscale.Pipeline.Preprocessing;
using Histoscale.Pipeline.Reading;
using Histoscale.Pipeline.Runs;
using Histoscale.Pipeline.Tissue;
using Histoscale.Slides;

namespace Histoscale.Pipeline.Sampling;

/// <summary>One tile chosen by <see cref="TileSampler"/>: a slide and an index into that slide's plan.</summary>
/// <param name="Slide">The slide's path or URI.</param>
/// <param name="PlanIndex">Index into <see cref="Planning.TilePlan.Tiles"/> of that slide's plan.</param>
public readonly record struct SampledTile(string Slide, int PlanIndex);

/// <summary>A sampled tile left out because its stored data could not be decoded (<see cref="TileSampler.Readable"/>).</summary>
/// <param name="Tile">The sampled tile.</param>
/// <param name="Error">What was wrong: the slide's file, level, tile (col,row) and cause.</param>
public readonly record struct SkippedTile(SampledTile Tile, string Error);

/// <summary>
/// Picks a fixed number of tiles from slides and packs them into model input batches through exactly the path
/// <c>infer</c> uses (tissue detection → tile plan → tile reader → <see cref="TensorPacker"/>), so whatever sees
/// these tiles (calibration, accuracy checks) sees what inference sees. Picks are evenly spaced over all slides'
/// planned tiles in plan order: deterministic, spread over the tissue, proportional to each slide's tissue area.
/// With <see cref="RunOptions.Stain"/>, tiles are stain-normalised as a run would normalise them.
/// </summary>
public sealed class TileSampler
{
    private readonly ModelDescription _model;
    private readonly RunOptions _options;
    private readonly ModelIo _io;
    private readonly TensorPacker _packer;
    private readonly Dictionary<string, TilePlan> _plans = [];

    /// <summary>A sampler that cuts tiles for <paramref name="model"/> as an inference run with <paramref name="options"/> would.</summary>
    /// <exception cref="PipelineConfigException">The model has no tile size, or the resulting plan options are invalid.</exception>
    public TileSampler(ModelDescription model, RunOptions options)
    {
        _model = model;
        _options = options;
        var tileSize = model.TileSize ?? throw new PipelineConfigException(
            $"model '{model.Name}' accepts any tile size and none was given: set histoscale.tile_size in its config or pass --tile-size");
        options.PlanOptions(model, tileSize).Validate();
        _io = new ModelIo(model, tileSize);
        _packer = new TensorPacker(model, tileSize);
    }

    /// <summary>Planned tiles over all slides (after <see cref="Pick"/>).</summary>
    public long TilesAvailable { get; private set; }

    private readonly List<SkippedTile> _skipped = [];
    private readonly HashSet<SampledTile> _skippedTiles = [];

    /// <summary>Tiles <see cref="Readable"/> left out so far because their data is corrupt or truncated, in the order met.</summary>
    public IReadOnlyList<SkippedTile> Skipped => _skipped;

    /// <summary>
    /// Reads each of <paramref name="tiles"/> once, as <see cref="Batches(IReadOnlyList{SampledTile}, int)"/> would, and returns those that decode,
    /// in order. A tile whose data is corrupt or truncated (<see cref="SlideException.IsCorruptData"/>) is left out and
    /// added to <see cref="Skipped"/> with its error; one corrupt tile does not end a calibration. Any other failure
    /// (a slide that cannot be opened, a store that does not answer) throws as before.
    /// </summary>
    public IReadOnlyList<SampledTile> Readable(IReadOnlyList<SampledTile> tiles)
    {
        var readable = new List<SampledTile>(tiles.Count);
        var rgba = ArrayPool<byte>.Shared.Rent(_io.TileSize * _io.TileSize * 4);
        try
        {
            foreach (var group in tiles.GroupBy(t => t.Slide))
            {
                using var slide = Slide.Open(group.Key, _options.Slides);
                var plan = Plan(group.Key);
                using var reader = new PlanTileReader(slide, plan);
                using var scratch = new PlanTileReader.Scratch();
                foreach (var tile in group)
                {
                    try
                    {
                        reader.Read(plan.Tiles[tile.PlanIndex], rgba.AsSpan(0, reader.TileBytes), scratch);
                        readable.Add(tile);
                    }
                    catch (SlideException ex) when (ex.IsCorruptData)
                    {
                        Skip(tile, ex);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
        // Groups keep the picks' order (picks of a slide are adjacent), so this is the input order less the skipped.
        return readable;
    }

    /// <summary>Whether <paramref name="tile"/> was left out as corrupt (by <see cref="Readable"/> or a skipping <see cref="Batches(IReadOnlyList{SampledTile}, int, bool)"/>).</summary>
    public bool WasSkipped(SampledTile tile) => _skippedTiles.Contains(tile);

    private void Skip(SampledTile tile, SlideException ex)
    {
        if (_skippedTiles.Add(tile))
        {
            _skipped.Add(new SkippedTile(tile, ex.Message));
        }
    }

    /// <summary>Plans every slide and picks up to <paramref name="count"/> tiles evenly spaced over all of them.</summary>
    public IReadOnlyList<SampledTile> Pick(IReadOnlyList<string> slides, int count)
    {
        var plans = slides.Select(s => (Slide: s, Plan: Plan(s))).ToList();
        TilesAvailable = plans.Sum(p => (long)p.Plan.Tiles.Count);
        var picks = new List<SampledTile>();
        if (TilesAvailable == 0 || count <= 0)
        {
            return picks;
        }
        var take = (int)Math.Min(count, TilesAvailable);
        // Pick k sits at the middle of the k-th of `take` equal stretches of the concatenated plans.
        var slide = 0;
        long before = 0;
        for (var k = 0; k < take; k++)
        {
            var position = (long)(((k + 0.5) * TilesAvailable) / take);
            while (position >= before + plans[slide].Plan.Tiles.Count)
            {
                before += plans[slide].Plan.Tiles.Count;
                slide++;
            }
            picks.Add(new SampledTile(plans[slide].Slide, (int)(position - before)));
        }
        return picks;
    }

    /// <summary>
    /// Reads and packs <paramref name="tiles"/> in order into batches of at most <paramref name="batchSize"/> (model
    /// input shape and layout). Each yielded tensor belongs to the caller, who disposes it. A tile that cannot be read
    /// throws (its <see cref="SlideException"/>): pass tiles through <see cref="Readable"/> first to leave corrupt ones out.
    /// </summary>
    public IEnumerable<Tensor> Batches(IReadOnlyList<SampledTile> tiles, int batchSize) => Batches(tiles, batchSize, skipCorrupt: false);

    /// <summary>
    /// As <see cref="Batches(IReadOnlyList{SampledTile}, int)"/>; with <paramref name="skipCorrupt"/>, a tile whose data
    /// is corrupt or truncated is left out as <see cref="Readable"/> leaves it out (added to <see cref="Skipped"/> once,
    /// however often it is met), in the same pass that packs the others: each tile is decoded once. The last batch may
    /// then be smaller.
    /// </summary>
    public IEnumerable<Tensor> Batches(IReadOnlyList<SampledTile> tiles, int batchSize, bool skipCorrupt)
    {
        batchSize = Math.Clamp(batchSize, 1, _io.MaxBatch);
        var rgba = ArrayPool<byte>.Shared.Rent(_io.TileSize * _io.TileSize * 4);
        Tensor? batch = null; // the batch being filled: ours until yielded, then the consumer's
        var capacity = 0;
        var inBatch = 0;
        var index = 0;
        try
        {
            // One open per slide: picks of a slide are adjacent (they come from Pick in plan order).
            foreach (var group in tiles.GroupBy(t => t.Slide))
            {
                using var slide = Slide.Open(group.Key, _options.Slides);
                var plan = Plan(group.Key);
                using var reader = new PlanTileReader(slide, plan);
                using var scratch = new PlanTileReader.Scratch();
                // With stain normalisation, as in a run: the slide's own stain fitted once, each tile mapped before packing.
                var stain = _options.Stain is { } s
                    ? new Stain.StainNormalizer(Staining.SlideStain.Fit(slide, s.Method, _options.Tissue, s.Options), s.Target, s.Options)
                    : null;
                foreach (var tile in group)
                {
                    if (batch is null)
                    {
                        capacity = Math.Min(batchSize, tiles.Count - index);
                        batch = Tensor.Rent(_packer.DataType, _io.InputShape(capacity));
                        inBatch = 0;
                    }
                    index++;
                    try
                    {
                        reader.Read(plan.Tiles[tile.PlanIndex], rgba.AsSpan(0, reader.TileBytes), scratch);
                    }
                    catch (SlideException ex) when (skipCorrupt && ex.IsCorruptData)
                    {
                        Skip(tile, ex);
                        continue;
                    }
                    stain?.NormalizeRgba(rgba.AsSpan(0, reader.TileBytes));
                    _packer.Pack(rgba.AsSpan(0, reader.TileBytes), batch.Bytes, inBatch);
                    inBatch++;
                    if (inBatch == capacity)
                    {
                        var full = batch;
                        batch = null;
                        yield return full;
                    }
                }
            }
            if (batch is not null && inBatch > 0)
            {
                var last = batch;
                batch = null;
                if (inBatch < capacity)
                {
                    // Tiles skipped after this batch was sized: the samples packed are its first bytes (batch-major).
                    var smaller = Tensor.Rent(_packer.DataType, _io.InputShape(inBatch));
                    last.Bytes[..smaller.Bytes.Length].CopyTo(smaller.Bytes);
                    last.Dispose();
                    last = smaller;
                }
                yield return last;
            }
        }
        finally
        {
            // A read that failed, or a consumer that stopped early, leaves a half-filled batch nobody else owns.
            batch?.Dispose();
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    private TilePlan Plan(string slidePath)
    {
        if (!_plans.TryGetValue(slidePath, out var plan))
        {
            using var slide = Slide.Open(slidePath, _options.Slides);
            var tissue = _options.DetectTissue ? TissueDetector.Detect(slide, _options.Tissue) : null;
            SlideRunner.CheckDetectionTiles(slidePath, tissue, _options);
            plan = TilePlanner.Create(slide, _options.PlanOptions(_model, _io.TileSize), tissue);
            _plans[slidePath] = plan;
        }
        return plan;
    }
}
