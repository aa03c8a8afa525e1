using System.Diagnostics;
using System.Globalization;
using Histoscale.Bench;

// Decoder candidates measured on a slide's real level-0 tiles (tables spliced, as the reader does).
// usage: Histoscale.Bench jpeg SLIDE [THREADS] [MAX_TILES]
//        Histoscale.Bench jpeg-verify SLIDE [MAX_TILES]   (ours vs libjpeg-turbo, pixel for pixel)
//        Histoscale.Bench jpeg-verify-all TIFF...        (every JPEG tile and strip of every directory)
//        Histoscale.Bench imaging SLIDE J2K_SLIDE [SECONDS] (imaging libraries on every path the product needs)
//        Histoscale.Bench tissue SLIDE...                 (tissue detection alone, median of five)
if (args.Length >= 2 && args[0] == "tissue")
{
    return TissueBench.Run(args.Skip(1));
}
if (args.Length >= 3 && args[0] == "imaging")
{
    return ImagingBench.Run(args[1], args[2], args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 1.5);
}
if (args.Length >= 2 && args[0] == "jpeg-verify")
{
    return JpegVerify.Run(TileStreams.Load(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : int.MaxValue));
}
if (args.Length >= 2 && args[0] == "jpeg-verify-all")
{
    return args.Skip(1).Select(JpegVerifyAll.Run).Max();
}
if (args.Length >= 4 && args[0] == "jpeg-compare")
{
    return JpegVerify.Compare(File.ReadAllBytes(args[1]), int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
}
if (args.Length < 2 || args[0] != "jpeg")
{
    Console.Error.WriteLine("usage: Histoscale.Bench jpeg SLIDE [THREADS] [MAX_TILES]");
    return 2;
}
var threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
var max = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4000;
var tiles = TileStreams.Load(args[1], max);
Console.WriteLine($"slide={args[1]} tiles={tiles.Streams.Count} tile={tiles.Width}x{tiles.Height} threads={threads}");
// JPEG_CANDIDATES=Histoscale,Skia limits the run to candidates whose names contain one of the words.
var only = Environment.GetEnvironmentVariable("JPEG_CANDIDATES")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
foreach (var decoder in JpegCandidates.All.Where(d => only is null || only.Any(o => d.Name.Contains(o, StringComparison.OrdinalIgnoreCase))))
{
    decoder.Decode(tiles.Streams[0], tiles.Width, tiles.Height, new byte[tiles.Width * tiles.Height * 4]); // warm-up, native load
    var best = double.MaxValue;
    var bestCpu = double.MaxValue;
    for (var rep = 0; rep < 3; rep++)
    {
        long next = -1;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var buffer = new byte[tiles.Width * tiles.Height * 4];
            long i;
            while ((i = Interlocked.Increment(ref next)) < tiles.Streams.Count)
            {
                decoder.Decode(tiles.Streams[(int)i], tiles.Width, tiles.Height, buffer);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
        bestCpu = Math.Min(bestCpu, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }
    var mp = (double)tiles.Streams.Count * tiles.Width * tiles.Height / 1e6;
    // CPU-time throughput (per busy core) is steadier than wall time when the machine is shared.
    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-34} {1,8:F1} MP/s  {2,8:F0} tiles/s  {3,8:F1} MP/cpu-s", decoder.Name, mp / best, tiles.Streams.Count / best, mp / bestCpu));
}
return 0;
