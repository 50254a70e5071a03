//! An SVG chart of each market: index, mark and last trade price, and the funding rate.
use super::report::Series;

const W: f64 = 900.0;
const PANEL: f64 = 220.0;
const FUND: f64 = 70.0;
const PAD: f64 = 50.0;

fn polyline(values: &[f64], x0: f64, y0: f64, w: f64, h: f64, lo: f64, hi: f64, color: &str) -> String {
    let n = values.len().max(2) as f64 - 1.0;
    let span = if hi > lo { hi - lo } else { 1.0 };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v > 0.0 || color == "#6a3d9a")
        .map(|(i, v)| format!("{:.1},{:.1}", x0 + w * i as f64 / n, y0 + h - h * (v - lo) / span))
        .collect();
    format!("<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>", points.join(" "))
}

fn range(series: &[&[f64]]) -> (f64, f64) {
    let all = series.iter().flat_map(|s| s.iter().copied()).filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo * 0.995, hi * 1.005)
    }
}

/// One panel per market, with a legend, axes labels and the funding rate beneath.
pub fn svg(series: &[Series]) -> String {
    let height = PAD + series.len() as f64 * (PANEL + FUND + PAD);
    let mut out = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let legend = [("index", "#1f78b4"), ("mark", "#e31a1c"), ("last trade", "#33a02c"), ("funding %/h", "#6a3d9a")];
    for (i, (name, color)) in legend.iter().enumerate() {
        let x = PAD + i as f64 * 140.0;
        out += &format!("<rect x=\"{x}\" y=\"15\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"21\">{name}</text>\n", x + 20.0);
    }
    let pw = W - 2.0 * PAD;
    for (k, s) in series.iter().enumerate() {
        let y = PAD + k as f64 * (PANEL + FUND + PAD);
        let (lo, hi) = range(&[&s.index, &s.mark, &s.last]);
        out += &format!(
            "<text x=\"{PAD}\" y=\"{}\" font-weight=\"bold\">{} (price in USD per base unit)</text>\n",
            y - 8.0,
            s.symbol
        );
        out +=
            &format!("<rect x=\"{PAD}\" y=\"{y}\" width=\"{pw}\" height=\"{PANEL}\" fill=\"none\" stroke=\"#999\"/>\n");
        out += &format!(
            "<text x=\"5\" y=\"{}\">{hi:.3}</text><text x=\"5\" y=\"{}\">{lo:.3}</text>\n",
            y + 12.0,
            y + PANEL
        );
        out += &polyline(&s.index, PAD, y, pw, PANEL, lo, hi, "#1f78b4");
        out += &polyline(&s.mark, PAD, y, pw, PANEL, lo, hi, "#e31a1c");
        out += &polyline(&s.last, PAD, y, pw, PANEL, lo, hi, "#33a02c");
        let fy = y + PANEL + 10.0;
        let flo = s.funding.iter().copied().fold(0.0f64, f64::min);
        let fhi = s.funding.iter().copied().fold(0.0f64, f64::max);
        let (flo, fhi) = if fhi > flo { (flo, fhi) } else { (-0.01, 0.01) };
        out +=
            &format!("<rect x=\"{PAD}\" y=\"{fy}\" width=\"{pw}\" height=\"{FUND}\" fill=\"none\" stroke=\"#ccc\"/>\n");
        out += &format!(
            "<text x=\"5\" y=\"{}\">{fhi:.4}</text><text x=\"5\" y=\"{}\">{flo:.4}</text>\n",
            fy + 12.0,
            fy + FUND
        );
        out += &polyline(&s.funding, PAD, fy, pw, FUND, flo, fhi, "#6a3d9a");
        out += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">simulated minutes: {}</text>\n",
            W - PAD,
            fy + FUND + 14.0,
            s.index.len()
        );
    }
    out += "</svg>\n";
    out
}
