//! An SVG chart of the run: per market, index, mark and last trade price with the risk
//! events marked (liquidations, early deleverages, deleverages, final settlement), the
//! funding rate and the open interest; then the insurance fund.
use super::report::{InsuranceSeries, Series};
use crate::cranks::RiskEventKind;

const W: f64 = 900.0;
const PANEL: f64 = 220.0;
const SUB: f64 = 70.0;
const PAD: f64 = 50.0;
const GAP: f64 = 10.0;

const INDEX: &str = "#1f78b4";
const MARK: &str = "#e31a1c";
const LAST: &str = "#33a02c";
const FUNDING: &str = "#6a3d9a";
const OPEN_INTEREST: &str = "#b15928";
const INSURANCE: &str = "#1b9e77";
const SETTLEMENT: &str = "#555555";

fn event_color(kind: RiskEventKind) -> &'static str {
    match kind {
        RiskEventKind::Liquidation => "#ff7f00",
        RiskEventKind::EarlyDeleverage => "#e7298a",
        RiskEventKind::Deleverage | RiskEventKind::InsuranceCover => "#000000",
    }
}

/// A polyline over `values`; `signed` keeps zero and negative values (rates), otherwise only
/// positive finite values are drawn (a price that does not exist yet is 0).
fn polyline(values: &[f64], frame: Frame, lo: f64, hi: f64, color: &str, signed: bool) -> String {
    let span = if hi > lo { hi - lo } else { 1.0 };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && (signed || **v > 0.0))
        .map(|(i, v)| format!("{:.1},{:.1}", frame.x(i, values.len()), frame.y + frame.h - frame.h * (v - lo) / span))
        .collect();
    format!("<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\n", points.join(" "))
}

#[derive(Clone, Copy)]
struct Frame {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Frame {
    fn x(&self, i: usize, n: usize) -> f64 {
        self.x + self.w * i as f64 / (n.max(2) - 1) as f64
    }

    /// The box, its scale labels and a caption.
    fn draw(&self, lo: f64, hi: f64, digits: usize, caption: &str) -> String {
        format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#bbb\"/>\n\
             <text x=\"5\" y=\"{top}\">{hi:.digits$}</text><text x=\"5\" y=\"{bottom}\">{lo:.digits$}</text>\n\
             <text x=\"{right}\" y=\"{top}\" text-anchor=\"end\" fill=\"#666\">{caption}</text>\n",
            x = self.x,
            y = self.y,
            w = self.w,
            h = self.h,
            top = self.y + 12.0,
            bottom = self.y + self.h,
            right = self.x + self.w - 4.0,
        )
    }

    /// A vertical marker at sample `i` of `n`.
    fn marker(&self, i: usize, n: usize, color: &str, dashed: bool) -> String {
        let x = self.x(i, n);
        let dash = if dashed { " stroke-dasharray=\"4 3\"" } else { "" };
        format!(
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"1.2\" opacity=\"0.8\"{dash}/>\n",
            self.y,
            self.y + self.h
        )
    }
}

fn range(series: &[&[f64]], signed: bool) -> (f64, f64) {
    let all = series.iter().flat_map(|s| s.iter().copied()).filter(|v| v.is_finite() && (signed || *v > 0.0));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    match (lo > hi, signed) {
        (true, _) => (0.0, 1.0),
        (false, true) if hi > lo => (lo.min(0.0), hi.max(0.0)),
        (false, true) => (lo - 0.01, hi + 0.01),
        (false, false) => (lo * 0.995, hi * 1.005),
    }
}

/// The chart: a legend, one block per market, and the insurance fund (USDC per minute) with
/// the minutes at which it covered a deficit.
pub fn svg(series: &[Series], insurance: &InsuranceSeries) -> String {
    let block = PANEL + 2.0 * (SUB + GAP) + PAD;
    let height = 2.0 * PAD + series.len() as f64 * block + SUB + PAD;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let lines = [
        ("index", INDEX),
        ("mark", MARK),
        ("last trade", LAST),
        ("funding %/h", FUNDING),
        ("open interest", OPEN_INTEREST),
        ("insurance fund", INSURANCE),
    ];
    let markers = [
        ("liquidation", event_color(RiskEventKind::Liquidation)),
        ("early deleverage", event_color(RiskEventKind::EarlyDeleverage)),
        ("deleverage, insurance cover", event_color(RiskEventKind::Deleverage)),
        ("final settlement", SETTLEMENT),
    ];
    // Legend entries side by side, each as wide as its label (about 7 px a character).
    let mut x = PAD;
    for (name, color) in lines {
        out += &format!("<rect x=\"{x}\" y=\"12\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"18\">{name}</text>\n", x + 20.0);
        x += 40.0 + 7.0 * name.len() as f64;
    }
    let mut x = PAD;
    for (name, color) in markers {
        out += &format!("<rect x=\"{x}\" y=\"26\" width=\"2\" height=\"14\" fill=\"{color}\"/><text x=\"{}\" y=\"38\">{name}</text>\n", x + 8.0);
        x += 28.0 + 7.0 * name.len() as f64;
    }
    let pw = W - 2.0 * PAD;
    for (k, s) in series.iter().enumerate() {
        let y = 2.0 * PAD + k as f64 * block;
        let n = s.index.len();
        let price = Frame { x: PAD, y, w: pw, h: PANEL };
        let (lo, hi) = range(&[&s.index, &s.mark, &s.last], false);
        out += &format!(
            "<text x=\"{PAD}\" y=\"{}\" font-weight=\"bold\">{} (price in USD per base unit)</text>\n",
            y - 8.0,
            s.symbol
        );
        out += &price.draw(lo, hi, 3, "");
        for (values, color) in [(&s.index, INDEX), (&s.mark, MARK), (&s.last, LAST)] {
            out += &polyline(values, price, lo, hi, color, false);
        }
        for (at, kind) in &s.events {
            out += &price.marker(*at, n, event_color(*kind), false);
        }
        if let Some(at) = s.final_settlement {
            out += &price.marker(at, n, SETTLEMENT, true);
        }
        let counts = |kind| s.events.iter().filter(|(_, k)| *k == kind).count();
        out += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">liquidations {}, early deleverages {}, deleverages {} (in this market)</text>\n",
            W - PAD - 4.0,
            y + 12.0,
            counts(RiskEventKind::Liquidation),
            counts(RiskEventKind::EarlyDeleverage),
            counts(RiskEventKind::Deleverage)
        );

        let funding = Frame { x: PAD, y: y + PANEL + GAP, w: pw, h: SUB };
        let (flo, fhi) = range(&[&s.funding], true);
        out += &funding.draw(flo, fhi, 4, "funding rate, % per hour");
        out += &polyline(&s.funding, funding, flo, fhi, FUNDING, true);

        let oi = Frame { x: PAD, y: funding.y + SUB + GAP, w: pw, h: SUB };
        let (olo, ohi) = range(&[&s.open_interest], true);
        out += &oi.draw(olo, ohi, 2, "open interest, base units");
        out += &polyline(&s.open_interest, oi, olo, ohi, OPEN_INTEREST, true);
        out += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">simulated minutes: {n}</text>\n",
            W - PAD,
            oi.y + SUB + 14.0
        );
    }
    let y = 2.0 * PAD + series.len() as f64 * block;
    let fund = Frame { x: PAD, y, w: pw, h: SUB };
    // An empty fund is a real value, drawn at zero (not left out like a missing price).
    let (ilo, ihi) = range(&[&insurance.usdc], true);
    out += &format!(
        "<text x=\"{PAD}\" y=\"{}\" font-weight=\"bold\">Insurance fund (USDC; black: a deficit covered)</text>\n",
        y - 8.0
    );
    out += &fund.draw(ilo, ihi, 2, "");
    out += &polyline(&insurance.usdc, fund, ilo, ihi, INSURANCE, true);
    for at in &insurance.covers {
        out += &fund.marker(*at, insurance.usdc.len(), event_color(RiskEventKind::InsuranceCover), false);
    }
    out += "</svg>\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_marks_every_event_and_draws_every_panel() {
        let mut s = Series::new("SOL-PERP");
        for i in 0..10 {
            s.index.push(100.0 - i as f64);
            s.mark.push(100.0 - i as f64);
            s.last.push(100.0 - i as f64);
            s.funding.push(0.01);
            s.open_interest.push(5.0 + i as f64);
        }
        s.events =
            vec![(3, RiskEventKind::Liquidation), (5, RiskEventKind::EarlyDeleverage), (6, RiskEventKind::Deleverage)];
        s.final_settlement = Some(9);
        let insurance = InsuranceSeries { usdc: vec![10_000.0, 9_990.0, 9_980.0], covers: vec![1] };
        let out = svg(&[s], &insurance);
        assert_eq!(out.matches("<line x1=").count(), 5, "three events, the settlement and a cover");
        for color in ["#ff7f00", "#e7298a", "#000000"] {
            assert!(out.contains(&format!("stroke=\"{color}\" stroke-width=\"1.2\"")), "{color} marker");
        }
        assert!(out.contains("stroke-dasharray"), "final settlement is dashed");
        assert_eq!(out.matches("<polyline").count(), 6, "3 prices, funding, open interest, insurance");
        assert!(out.contains("liquidations 1, early deleverages 1, deleverages 1"));
    }

    #[test]
    fn an_empty_insurance_fund_is_drawn_at_zero() {
        let insurance = InsuranceSeries { usdc: vec![100.0, 0.0, 0.0, 50.0], covers: vec![1] };
        let out = svg(&[], &insurance);
        let fund = out.lines().rfind(|l| l.starts_with("<polyline")).expect("the fund's line");
        let points = fund.split("points=\"").nth(1).unwrap_or_default();
        assert_eq!(points.split_whitespace().count(), 4, "every minute, the empty ones too: {fund}");
    }
}
