using System.Globalization;
using System.Net;
using System.Text;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// Latency against hidden size, one line per engine, log-log, one panel per scenario and cell
/// (rows: Step b1, Run b1, Run b16; columns: RNN, GRU, LSTM), with this machine's measured floor dashed.
/// Plain SVG written by hand: no plotting library.
/// </summary>
public static class LatencySvg
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] Palette = ["#17becf", "#bcbd22", "#8c564b"];

    /// <summary>One color per engine, the same in every picture; two-thread peers dashed in their one-thread color.</summary>
    private static (string Color, string Dash) Style(string engine, int index) => engine switch
    {
        "reference" => ("#7f7f7f", ""),
        "avx2" => ("#1f77b4", ""),
        "avx512" => ("#2ca02c", ""),
        "opencl" => ("#9467bd", ""),
        "ort-1t" => ("#d62728", ""),
        "torch-1t" => ("#ff7f0e", ""),
        "ort-2t" => ("#d62728", " stroke-dasharray=\"2 2\""),
        "torch-2t" => ("#ff7f0e", " stroke-dasharray=\"2 2\""),
        _ => (Palette[index % Palette.Length], ""),
    };

    private const int PanelW = 300, PanelH = 220, MarginL = 70, MarginT = 40, GapX = 30, GapY = 55, Top = 70;

    public static string Render(IReadOnlyList<Measured> rows, string title)
    {
        string[] engines = Report.EngineOrder(rows);
        var scenarios = new (ScenarioKind Kind, int Batch, string Name)[]
        {
            (ScenarioKind.Step, 1, "Step b1"), (ScenarioKind.Run, 1, "Run T=100 b1"), (ScenarioKind.Run, 16, "Run T=100 b16"),
        }.Where(sc => rows.Any(r => r.Info.Kind == sc.Kind && r.Info.Batch == sc.Batch)).ToArray();
        RnnCellKind[] cells = [RnnCellKind.Rnn, RnnCellKind.Gru, RnnCellKind.Lstm];
        int[] hiddens = rows.Select(r => r.Info.Hidden).Distinct().Order().ToArray();
        if (hiddens.Length == 0) hiddens = [64, 256, 1024];

        int width = MarginL + cells.Length * (PanelW + GapX) + 20;
        int height = Top + scenarios.Length * (PanelH + GapY) + 20;
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{WebUtility.HtmlEncode(title)}</text>");

        // Legend: one entry per engine, then the floor.
        double lx = MarginL;
        for (int e = 0; e < engines.Length; e++)
        {
            var (color, dash) = Style(engines[e], e);
            sb.AppendLine($"<line x1=\"{F(lx)}\" y1=\"42\" x2=\"{F(lx + 22)}\" y2=\"42\" stroke=\"{color}\" stroke-width=\"2.5\"{dash}/>");
            sb.AppendLine($"<text x=\"{F(lx + 27)}\" y=\"46\">{WebUtility.HtmlEncode(engines[e])}</text>");
            lx += 40 + 7 * engines[e].Length;
        }
        sb.AppendLine($"<line x1=\"{F(lx)}\" y1=\"42\" x2=\"{F(lx + 22)}\" y2=\"42\" stroke=\"black\" stroke-dasharray=\"4 3\"/>");
        sb.AppendLine($"<text x=\"{F(lx + 27)}\" y=\"46\">floor (this machine, one core)</text>");

        for (int s = 0; s < scenarios.Length; s++)
        {
            for (int c = 0; c < cells.Length; c++)
            {
                double x0 = MarginL + c * (PanelW + GapX), y0 = Top + s * (PanelH + GapY);
                var panel = rows.Where(r => r.Info.Kind == scenarios[s].Kind && r.Info.Batch == scenarios[s].Batch && r.Info.Cell == cells[c]).ToList();
                var floors = hiddens.Select(h => Roofline.MeasuredFloorNs(BenchModel.Get(cells[c], h), scenarios[s].Kind, scenarios[s].Batch,
                    scenarios[s].Kind == ScenarioKind.Step ? 1 : RunBench.Steps)).ToArray();
                var values = panel.Where(r => r.MedianNs is > 0).Select(r => r.MedianNs!.Value).Concat(floors).ToArray();
                double lo = Math.Floor(Math.Log10(values.Min())), hi = Math.Ceiling(Math.Log10(values.Max()));
                if (hi <= lo) hi = lo + 1;
                double X(int h) => x0 + 20 + (PanelW - 40) * (hiddens.Length == 1 ? 0.5 : Array.IndexOf(hiddens, h) / (double)(hiddens.Length - 1));
                double Y(double ns) => y0 + PanelH - PanelH * (Math.Log10(ns) - lo) / (hi - lo);

                sb.AppendLine($"<rect x=\"{F(x0)}\" y=\"{F(y0)}\" width=\"{PanelW}\" height=\"{PanelH}\" fill=\"none\" stroke=\"#999\"/>");
                sb.AppendLine($"<text x=\"{F(x0 + PanelW / 2.0)}\" y=\"{F(y0 - 6)}\" text-anchor=\"middle\" font-size=\"12\">{cells[c].Name().ToUpperInvariant()}, {scenarios[s].Name}</text>");
                for (double d = lo; d <= hi; d++)
                {
                    double y = Y(Math.Pow(10, d));
                    sb.AppendLine($"<line x1=\"{F(x0)}\" y1=\"{F(y)}\" x2=\"{F(x0 + PanelW)}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/>");
                    sb.AppendLine($"<text x=\"{F(x0 - 4)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{SuiteColumn.FormatNs(Math.Pow(10, d)).Replace(".00", "").Replace(".0", "")}</text>");
                }
                foreach (int h in hiddens)
                    sb.AppendLine($"<text x=\"{F(X(h))}\" y=\"{F(y0 + PanelH + 14)}\" text-anchor=\"middle\">{h}</text>");
                sb.AppendLine($"<text x=\"{F(x0 + PanelW / 2.0)}\" y=\"{F(y0 + PanelH + 28)}\" text-anchor=\"middle\" fill=\"#555\">hidden (= input)</text>");

                sb.AppendLine($"<polyline fill=\"none\" stroke=\"black\" stroke-dasharray=\"4 3\" points=\"{string.Join(" ", hiddens.Select((h, i) => $"{F(X(h))},{F(Y(floors[i]))}"))}\"/>");
                for (int e = 0; e < engines.Length; e++)
                {
                    var pts = panel.Where(r => r.Info.Engine == engines[e] && r.MedianNs is > 0).OrderBy(r => r.Info.Hidden)
                        .Select(r => (X: X(r.Info.Hidden), Y: Y(r.MedianNs!.Value))).ToArray();
                    if (pts.Length == 0) continue;
                    var (color, dash) = Style(engines[e], e);
                    sb.AppendLine($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{string.Join(" ", pts.Select(p => $"{F(p.X)},{F(p.Y)}"))}\"/>");
                    foreach (var p in pts) sb.AppendLine($"<circle cx=\"{F(p.X)}\" cy=\"{F(p.Y)}\" r=\"3\" fill=\"{color}\"/>");
                }
            }
        }
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string F(double v) => v.ToString("F1", Inv);
}
