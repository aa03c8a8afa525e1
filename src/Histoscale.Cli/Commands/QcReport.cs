using System.Globalization;
using System.Net;
using System.Text;
using Histoscale.Pipeline.Quality;
using Histoscale.Slides;
using Histoscale.Slides.Imaging;

namespace Histoscale.Cli.Commands;

/// <summary>One slide's line of the QC outputs (null <see cref="Quality"/> when it could not be measured).</summary>
internal sealed record QcRow(string Name, string Path, SlideQuality? Quality)
{
    public string? Error { get; init; }

    /// <summary>A small JPEG of the slide with the masks drawn over it, as a data URI (report only).</summary>
    public string? Thumbnail { get; init; }

    public static QcRow From(string name, string path, SlideQuality quality) => new(name, path, quality);

    private static double R(double v) => Math.Round(v, 5);

    /// <summary>NAME.qc.json's content (also each entry of --json).</summary>
    public object Json() => Quality is not { } q
        ? new { name = Name, path = Path, error = Error }
        : new
        {
            name = Name,
            path = Path,
            tissueFraction = R(q.TissueFraction),
            blurFraction = R(q.BlurFraction),
            penFraction = R(q.PenFraction),
            foldFraction = R(q.FoldFraction),
            darkFraction = R(q.Stain.DarkFraction),
            brightFraction = R(q.Stain.BrightFraction),
            brightness = R(q.Stain.Brightness),
            contrast = R(q.Stain.Contrast),
            usable = q.Usable,
            flags = q.Flags,
            maskMpp = R(q.MaskMpp),
            maskMppAssumed = q.MppAssumed,
            maskWidth = q.MaskWidth,
            maskHeight = q.MaskHeight,
            focusSamples = q.FocusSamples,
            unreadableTiles = q.UnreadableTiles,
            unreadableCauses = q.UnreadableCauses,
            focusUnreadableTiles = q.FocusUnreadableTiles,
            focusUnreadableCauses = q.FocusUnreadableCauses,
        };

    public string Line()
    {
        var q = Quality!;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {(q.Usable ? "usable" : "unusable (" + string.Join(", ", q.Flags) + ")")}, tissue {q.TissueFraction:P1}, blur {q.BlurFraction:P1}, pen {q.PenFraction:P1}, fold {q.FoldFraction:P1}, dark {q.Stain.DarkFraction:P1}, bright {q.Stain.BrightFraction:P1}");
    }
}

/// <summary>qc-summary.csv and the self-contained qc-report.html.</summary>
internal static class QcReport
{
    private static readonly string[] Measures = ["tissueFraction", "blurFraction", "penFraction", "foldFraction", "darkFraction", "brightFraction", "brightness", "contrast"];

    private static double[] Values(SlideQuality q) =>
        [q.TissueFraction, q.BlurFraction, q.PenFraction, q.FoldFraction, q.Stain.DarkFraction, q.Stain.BrightFraction, q.Stain.Brightness, q.Stain.Contrast];

    public static string Csv(IEnumerable<QcRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("name,path," + string.Join(',', Measures) + ",usable,flags,maskMpp,error\n");
        foreach (var row in rows)
        {
            csv.Append(Quote(row.Name)).Append(',').Append(Quote(row.Path));
            if (row.Quality is { } q)
            {
                foreach (var v in Values(q))
                {
                    csv.Append(',').Append(Math.Round(v, 5).ToString(c));
                }
                csv.Append(',').Append(q.Usable ? "true" : "false").Append(',').Append(Quote(string.Join(';', q.Flags)))
                    .Append(',').Append(Math.Round(q.MaskMpp, 5).ToString(c)).Append(",\n");
            }
            else
            {
                csv.Append(',', Measures.Length + 3).Append(',').Append(Quote(row.Error ?? "")).Append('\n');
            }
        }
        return csv.ToString();
    }

    /// <summary>The slide's low-resolution image, at most 240 px long, with blur (red), pen (cyan) and folds (orange) tinted over it.</summary>
    public static string Thumbnail(SlideQuality q)
    {
        const int Max = 240;
        var scale = Math.Max(1.0, (double)Math.Max(q.MaskWidth, q.MaskHeight) / Max);
        var w = Math.Max(1, (int)(q.MaskWidth / scale));
        var h = Math.Max(1, (int)(q.MaskHeight / scale));
        var pixels = new byte[w * h * 4];
        var src = q.Image.Pixels;
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var i = (Math.Min(q.MaskHeight - 1, (int)(y * scale)) * q.MaskWidth) + Math.Min(q.MaskWidth - 1, (int)(x * scale));
                var o = ((y * w) + x) * 4;
                int r = src[i * 4], g = src[(i * 4) + 1], b = src[(i * 4) + 2];
                if (src[(i * 4) + 3] == 0)
                {
                    (r, g, b) = (255, 255, 255);
                }
                (int R, int G, int B)? tint = q.PenMask[i] != 0 ? (0, 200, 255) : q.FoldMask[i] != 0 ? (255, 150, 0) : q.BlurMask[i] != 0 ? (255, 0, 0) : null;
                if (tint is { } t)
                {
                    (r, g, b) = ((r + t.R) / 2, (g + t.G) / 2, (b + t.B) / 2);
                }
                (pixels[o], pixels[o + 1], pixels[o + 2], pixels[o + 3]) = ((byte)r, (byte)g, (byte)b, 255);
            }
        }
        return "data:image/jpeg;base64," + Convert.ToBase64String(ImageFiles.Encode(new RgbaImage(w, h, pixels), ImageFileFormat.Jpeg, 80));
    }

    public static string Html(IReadOnlyList<QcRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Histoscale QC report</title>\n<style>")
            .Append("body{font-family:system-ui,sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px;text-align:right}")
            .Append("th{cursor:pointer;background:#eee}td.n{text-align:left}tr.bad{background:#fee}img{display:block;max-width:240px}")
            .Append("</style></head><body>\n<h1>Quality control</h1>\n<p>")
            .Append(rows.Count(r => r.Quality?.Usable == true)).Append(" of ").Append(rows.Count)
            .Append(" slides usable. Overlays: <span style=\"color:#c00\">blur</span>, <span style=\"color:#0ac\">pen</span>, <span style=\"color:#f90\">fold</span>. Click a column to sort.</p>\n")
            .Append("<table id=\"qc\"><thead><tr><th>slide</th><th>image</th>");
        foreach (var m in Measures)
        {
            html.Append("<th>").Append(m).Append("</th>");
        }
        html.Append("<th>usable</th><th>flags</th></tr></thead><tbody>\n");
        foreach (var row in rows)
        {
            var q = row.Quality;
            html.Append(q is { Usable: true } ? "<tr>" : "<tr class=\"bad\">")
                .Append("<td class=\"n\" data-v=\"").Append(WebUtility.HtmlEncode(row.Name)).Append("\">").Append(WebUtility.HtmlEncode(row.Name)).Append("</td><td>");
            if (row.Thumbnail is { } uri)
            {
                html.Append("<img alt=\"").Append(WebUtility.HtmlEncode(row.Name)).Append("\" src=\"").Append(uri).Append("\">");
            }
            html.Append("</td>");
            if (q is null)
            {
                html.Append("<td class=\"n\" colspan=\"").Append(Measures.Length + 2).Append("\">").Append(WebUtility.HtmlEncode(row.Error ?? "")).Append("</td>");
            }
            else
            {
                foreach (var v in Values(q))
                {
                    html.Append("<td data-v=\"").Append(v.ToString("R", c)).Append("\">").Append(v.ToString("0.000", c)).Append("</td>");
                }
                html.Append("<td data-v=\"").Append(q.Usable ? 1 : 0).Append("\">").Append(q.Usable ? "yes" : "no").Append("</td><td class=\"n\">")
                    .Append(WebUtility.HtmlEncode(string.Join(", ", q.Flags))).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n<script>\n")
            .Append("document.querySelectorAll('#qc th').forEach(function(th,col){var asc=false;th.addEventListener('click',function(){\n")
            .Append(" asc=!asc;var body=document.querySelector('#qc tbody');var rows=Array.prototype.slice.call(body.rows);\n")
            .Append(" rows.sort(function(a,b){var x=a.cells[col],y=b.cells[col];var u=x&&x.dataset.v,v=y&&y.dataset.v;\n")
            .Append("  if(u===undefined)return 1;if(v===undefined)return -1;var p=parseFloat(u),q=parseFloat(v);\n")
            .Append("  var r=(isNaN(p)||isNaN(q))?String(u).localeCompare(String(v)):p-q;return asc?r:-r;});\n")
            .Append(" rows.forEach(function(r){body.appendChild(r);});});});\n</script>\n</body></html>\n");
        return html.ToString();
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
