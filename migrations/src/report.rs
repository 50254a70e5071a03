//! What a run did (or, in a dry run, would do), object by object.
use anchor_lang::prelude::Pubkey;
use client::cluster::pubkey_str;
use serde::Serialize;

/// What a run did (or, in a dry run, would do) to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    /// The fields changed.
    Updated(String),
    Unchanged,
    /// Differs from the config where only another authority may change it; left alone.
    Drift(String),
    /// Differs where nothing can change it; the config or the cluster is wrong.
    Conflict(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub object: String,
    #[serde(serialize_with = "pubkey_str::serialize")]
    pub address: Pubkey,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    #[serde(serialize_with = "pubkey_str::serialize")]
    pub exchange: Pubkey,
    pub entries: Vec<Entry>,
    /// Transactions sent by this run.
    pub transactions: u32,
}

impl Report {
    pub(crate) fn push(&mut self, object: impl Into<String>, address: Pubkey, outcome: Outcome) {
        let object = object.into();
        tracing::info!(%object, %address, ?outcome, "migration");
        self.entries.push(Entry { object, address, outcome });
    }

    /// Whether anything was (or would be) created or updated.
    pub fn changed(&self) -> bool {
        self.entries.iter().any(|e| matches!(e.outcome, Outcome::Created | Outcome::Updated(_)))
    }

    pub fn conflicts(&self) -> Vec<&Entry> {
        self.entries.iter().filter(|e| matches!(e.outcome, Outcome::Conflict(_))).collect()
    }

    pub fn entry(&self, object: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.object == object)
    }

    /// A human-readable table.
    pub fn render(&self) -> String {
        let mut out =
            format!("exchange {}{}\n", self.exchange, if self.dry_run { " (dry run: nothing sent)" } else { "" });
        let width = self.entries.iter().map(|e| e.object.len()).max().unwrap_or(0);
        for e in &self.entries {
            let (verb, detail) = match &e.outcome {
                Outcome::Created => (if self.dry_run { "would create" } else { "created" }, String::new()),
                Outcome::Updated(d) => (if self.dry_run { "would update" } else { "updated" }, d.clone()),
                Outcome::Unchanged => ("unchanged", String::new()),
                Outcome::Drift(d) => ("drift", d.clone()),
                Outcome::Conflict(d) => ("CONFLICT", d.clone()),
            };
            out += &format!(
                "  {:width$}  {:44}  {verb}{}{detail}\n",
                e.object,
                e.address.to_string(),
                if detail.is_empty() { "" } else { ": " }
            );
        }
        out += &format!("{} transaction(s) sent\n", self.transactions);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_as_json_and_text() {
        let mut r = Report { exchange: Pubkey::new_unique(), ..Default::default() };
        let k = Pubkey::new_unique();
        r.push("market A", k, Outcome::Updated("taker_fee_ppm 1 -> 2".into()));
        r.push("book A", k, Outcome::Unchanged);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["entries"][0],
            serde_json::json!({"object": "market A", "address": k.to_string(), "outcome": "updated", "detail": "taker_fee_ppm 1 -> 2"})
        );
        assert_eq!(v["entries"][1]["outcome"], "unchanged");
        assert!(r.changed() && r.conflicts().is_empty());
        assert!(r.render().contains("updated: taker_fee_ppm 1 -> 2"));
    }
}
