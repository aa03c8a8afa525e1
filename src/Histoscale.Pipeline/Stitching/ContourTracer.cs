namespace Histoscale.Pipeline.Stitching;

/// <summary>A polygon on the cell grid: one outer ring and its holes, vertices at cell corners, rings not repeated closed.</summary>
internal sealed record GridPolygon(IReadOnlyList<(int X, int Y)> Outer, IReadOnlyList<IReadOnlyList<(int X, int Y)>> Holes);

/// <summary>
/// Traces the boundaries of a binary cell mask into polygons with holes. Every set cell side facing an unset cell
/// (or the border) becomes a directed edge with the set cell on its right; edges chain into closed rings (outer
/// rings run clockwise on screen, holes anticlockwise). At a vertex where two cells touch only diagonally the
/// walk turns right, hugging its own cell, so such cells form separate polygons (4-connectivity). Collinear
/// vertices are dropped; each hole goes to the smallest outer ring containing it.
/// </summary>
internal static class ContourTracer
{
    public static List<GridPolygon> Trace(byte[] mask, int width, int height)
    {
        // Outgoing edges per vertex (a vertex has at most two, at diagonal touches). Vertex id = y·(width+1) + x.
        var stride = width + 1;
        var outgoing = new Dictionary<int, List<int>>(); // vertex → edge ids
        var edges = new List<(int From, int To)>();
        bool Set(int x, int y) => x >= 0 && y >= 0 && x < width && y < height && mask[(y * width) + x] != 0;
        void Edge(int x0, int y0, int x1, int y1)
        {
            var from = (y0 * stride) + x0;
            var id = edges.Count;
            edges.Add((from, (y1 * stride) + x1));
            if (!outgoing.TryGetValue(from, out var list))
            {
                outgoing[from] = list = new List<int>(2);
            }
            list.Add(id);
        }
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                if (mask[(y * width) + x] == 0)
                {
                    continue;
                }
                if (!Set(x, y - 1))
                {
                    Edge(x, y, x + 1, y);
                }
                if (!Set(x + 1, y))
                {
                    Edge(x + 1, y, x + 1, y + 1);
                }
                if (!Set(x, y + 1))
                {
                    Edge(x + 1, y + 1, x, y + 1);
                }
                if (!Set(x - 1, y))
                {
                    Edge(x, y + 1, x, y);
                }
            }
        }

        var used = new bool[edges.Count];
        var outers = new List<(List<(int X, int Y)> Ring, double Area)>();
        var holes = new List<List<(int X, int Y)>>();
        for (var e = 0; e < edges.Count; e++)
        {
            if (used[e])
            {
                continue;
            }
            var ring = new List<(int X, int Y)>();
            var current = e;
            while (!used[current])
            {
                used[current] = true;
                var (from, to) = edges[current];
                ring.Add((from % stride, from / stride));
                current = NextEdge(edges, outgoing, used, from, to, stride);
                if (current < 0)
                {
                    break;
                }
            }
            var simplified = DropCollinear(ring);
            var area = SignedArea(simplified);
            if (area > 0)
            {
                outers.Add((simplified, area));
            }
            else
            {
                holes.Add(simplified);
            }
        }

        var holesOf = outers.Select(_ => new List<IReadOnlyList<(int X, int Y)>>()).ToList();
        foreach (var hole in holes)
        {
            // A point just inside the set cell to the right of the hole's first edge.
            var (ax, ay) = hole[0];
            var (bx, by) = hole[1 % hole.Count];
            double dx = Math.Sign(bx - ax), dy = Math.Sign(by - ay);
            var px = ((ax + bx) / 2.0) - (dy * 0.25);
            var py = ((ay + by) / 2.0) + (dx * 0.25);
            var best = -1;
            for (var i = 0; i < outers.Count; i++)
            {
                if ((best < 0 || outers[i].Area < outers[best].Area) && Contains(outers[i].Ring, px, py))
                {
                    best = i;
                }
            }
            if (best >= 0)
            {
                holesOf[best].Add(hole);
            }
        }
        return [.. outers.Select((o, i) => new GridPolygon(o.Ring, holesOf[i]))];
    }

    /// <summary>The unused edge leaving <paramref name="vertex"/>: a right turn first, then straight, then left.</summary>
    private static int NextEdge(List<(int From, int To)> edges, Dictionary<int, List<int>> outgoing, bool[] used, int previous, int vertex, int stride)
    {
        if (!outgoing.TryGetValue(vertex, out var candidates))
        {
            return -1;
        }
        int dx = (vertex % stride) - (previous % stride), dy = (vertex / stride) - (previous / stride);
        var best = -1;
        var bestRank = int.MaxValue;
        foreach (var id in candidates)
        {
            if (used[id])
            {
                continue;
            }
            var to = edges[id].To;
            int ex = (to % stride) - (vertex % stride), ey = (to / stride) - (vertex / stride);
            // Screen coordinates (y down): a right turn of (dx, dy) is (−dy, dx).
            var rank = (ex == -dy && ey == dx) ? 0 : (ex == dx && ey == dy) ? 1 : 2;
            if (rank < bestRank)
            {
                bestRank = rank;
                best = id;
            }
        }
        return best;
    }

    private static List<(int X, int Y)> DropCollinear(List<(int X, int Y)> ring)
    {
        var n = ring.Count;
        var result = new List<(int X, int Y)>(n);
        for (var i = 0; i < n; i++)
        {
            var (px, py) = ring[(i + n - 1) % n];
            var (cx, cy) = ring[i];
            var (nx, ny) = ring[(i + 1) % n];
            if (((cx - px) * (ny - cy)) - ((cy - py) * (nx - cx)) != 0)
            {
                result.Add(ring[i]);
            }
        }
        return result.Count >= 3 ? result : ring;
    }

    /// <summary>Shoelace area; positive for rings clockwise on screen (y down).</summary>
    public static double SignedArea(IReadOnlyList<(int X, int Y)> ring)
    {
        long twice = 0;
        for (var i = 0; i < ring.Count; i++)
        {
            var (x0, y0) = ring[i];
            var (x1, y1) = ring[(i + 1) % ring.Count];
            twice += ((long)x0 * y1) - ((long)x1 * y0);
        }
        return twice / 2.0;
    }

    private static bool Contains(List<(int X, int Y)> ring, double px, double py)
    {
        var inside = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            var (xi, yi) = ring[i];
            var (xj, yj) = ring[j];
            if ((yi > py) != (yj > py) && px < ((double)(xj - xi) * (py - yi) / (yj - yi)) + xi)
            {
                inside = !inside;
            }
        }
        return inside;
    }
}
