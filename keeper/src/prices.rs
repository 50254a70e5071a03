//! Price history for the margins crank: a CSV of daily closes, or CoinGecko's
//! `market_chart` JSON (from a file or a URL). Closes come out as integers in millionths.
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("line {line}: {what}")]
    Csv { line: usize, what: String },
    #[error("market_chart JSON: {0}")]
    Json(String),
    #[error("fetching {0}: {1}")]
    Http(String, String),
}

/// Parses a decimal like `150.23` into millionths without floating point.
fn millionths(s: &str) -> Option<u64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 6 || int.is_empty() {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let frac: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    int.checked_mul(1_000_000)?.checked_add(frac)
}

/// `date,close` rows (a header line is skipped), oldest first.
pub fn parse_csv(text: &str) -> Result<Vec<u64>, PriceError> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.chars().any(|c| c.is_ascii_alphabetic())) {
            continue;
        }
        let close = line.rsplit(',').next().unwrap_or_default();
        let v = millionths(close)
            .filter(|v| *v > 0)
            .ok_or(PriceError::Csv { line: i + 1, what: format!("bad close {close:?}") })?;
        out.push(v);
    }
    Ok(out)
}

/// CoinGecko `market_chart`: `{"prices": [[unix_ms, price], ...], ...}`. The last price
/// of each UTC day is that day's close; the days come out oldest first.
pub fn parse_market_chart(text: &str) -> Result<Vec<u64>, PriceError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| PriceError::Json(e.to_string()))?;
    let prices = v.get("prices").and_then(|p| p.as_array()).ok_or(PriceError::Json("no \"prices\" array".into()))?;
    let mut days: Vec<(i64, u64)> = vec![];
    for p in prices {
        let (Some(ms), Some(price)) = (p.get(0).and_then(|x| x.as_i64()), p.get(1).and_then(|x| x.as_f64())) else {
            return Err(PriceError::Json(format!("bad point {p}")));
        };
        if !(price > 0.0 && price.is_finite()) {
            return Err(PriceError::Json(format!("bad price {price}")));
        }
        let day = ms.div_euclid(86_400_000);
        let value = (price * 1e6).round() as u64;
        match days.last_mut() {
            Some((d, v)) if *d == day => *v = value,
            _ => days.push((day, value)),
        }
    }
    days.sort_by_key(|(d, _)| *d);
    Ok(days.into_iter().map(|(_, v)| v).collect())
}

/// Loads closes from a `.csv` file, a `.json` file, or an `http(s)://` URL serving JSON.
pub async fn load(source: &str) -> Result<Vec<u64>, PriceError> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let text = reqwest::get(source)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| PriceError::Http(source.into(), e.to_string()))?;
        let text = text.text().await.map_err(|e| PriceError::Http(source.into(), e.to_string()))?;
        return parse_market_chart(&text);
    }
    let text = std::fs::read_to_string(source).map_err(|e| PriceError::Io(source.into(), e))?;
    if Path::new(source).extension().is_some_and(|e| e == "csv") {
        parse_csv(&text)
    } else {
        parse_market_chart(&text)
    }
}

/// The shipped sample files, relative to the keeper crate.
pub fn sample_path(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_closes_parse_exactly() {
        let closes = parse_csv("date,close\n2025-01-01,150.23\n2025-01-02,149\n2025-01-03,0.000001\n").unwrap();
        assert_eq!(closes, vec![150_230_000, 149_000_000, 1]);
        assert!(parse_csv("date,close\n2025-01-01,abc\n").is_err());
        assert!(parse_csv("2025-01-01,0\n").is_err());
    }

    #[test]
    fn market_chart_takes_the_last_price_of_each_day() {
        let json = r#"{"prices":[[86400000,1.5],[86400000,1.75],[172800000,2.0]]}"#;
        assert_eq!(parse_market_chart(json).unwrap(), vec![1_750_000, 2_000_000]);
        assert!(parse_market_chart(r#"{"nope":[]}"#).is_err());
    }

    #[tokio::test]
    async fn shipped_samples_give_a_year_and_margins_above_the_floor() {
        for name in ["sol_usd_daily.csv", "eth_usd_market_chart.json"] {
            let closes = load(&sample_path(name)).await.unwrap();
            assert_eq!(closes.len(), 365, "{name}");
            let m = perpetual::math::var::margins_from_history(&closes, true).unwrap();
            assert!(m.init_long_bps >= 1_000 && m.init_short_bps >= 1_000, "{name}: {m:?}");
        }
    }
}
