//! A minimal reader of callgrind output files (`--dump-instr=no`): per function, its
//! self cost, its calls, and the inclusive cost of each call arc, as
//! `callgrind_annotate --inclusive=yes` computes them.
use std::collections::HashMap;

#[derive(Default, Debug, Clone)]
pub struct Function {
    pub self_ir: u64,
    /// Inclusive cost of the calls this function makes, by callee.
    pub callees: HashMap<String, u64>,
    /// How many times it was called (sum over incoming arcs).
    pub calls: u64,
}

#[derive(Default, Debug)]
pub struct Profile {
    pub functions: HashMap<String, Function>,
    pub total: u64,
}

impl Profile {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut p = Profile::default();
        let mut current = String::new();
        // Pending call: (callee, count) waiting for its cost line.
        let mut pending_callee: Option<String> = None;
        let mut call_target: Option<String> = None;
        let mut call_count: Option<u64> = None;
        let mut ir_column: Option<usize> = None;
        let mut positions = 1usize;
        let resolve = |names: &mut HashMap<String, String>, spec: &str| -> String {
            // "(id) name" defines, "(id)" refers, a plain name is itself.
            let spec = spec.trim();
            if let Some(rest) = spec.strip_prefix('(') {
                let close = rest.find(')').unwrap_or(rest.len());
                let id = rest[..close].to_string();
                let name = rest[close + 1..].trim();
                if name.is_empty() {
                    names.get(&id).cloned().unwrap_or(id)
                } else {
                    names.insert(id, name.to_string());
                    name.to_string()
                }
            } else {
                spec.to_string()
            }
        };
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("events:") {
                ir_column = rest.split_whitespace().position(|e| e == "Ir");
                continue;
            }
            if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count();
                continue;
            }
            if let Some(rest) = line.strip_prefix("fn=") {
                current = resolve(&mut names, rest);
                p.functions.entry(current.clone()).or_default();
                continue;
            }
            if let Some(rest) = line.strip_prefix("cfn=") {
                call_target = Some(resolve(&mut names, rest));
                continue;
            }
            if let Some(rest) = line.strip_prefix("calls=") {
                call_count = rest.split_whitespace().next().and_then(|c| c.parse().ok());
                pending_callee = call_target.clone().or_else(|| Some(current.clone()));
                continue;
            }
            if let Some(rest) = line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:")) {
                if let Some(col) = ir_column {
                    p.total = rest.split_whitespace().nth(col).and_then(|v| v.parse().ok()).unwrap_or(0);
                }
                continue;
            }
            let first = line.as_bytes()[0];
            let is_cost = first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'*';
            if !is_cost {
                // fl=, fi=, fe=, ob=, cob=, cfi=, cfl=, jump=, version:, cmd: ...
                continue;
            }
            let col = ir_column.ok_or("cost line before `events:`")?;
            let ir: u64 = line.split_whitespace().nth(positions + col).and_then(|v| v.parse().ok()).unwrap_or(0);
            if let Some(callee) = pending_callee.take() {
                let f = p.functions.entry(current.clone()).or_default();
                *f.callees.entry(callee.clone()).or_default() += ir;
                p.functions.entry(callee).or_default().calls += call_count.take().unwrap_or(0);
                call_target = None;
            } else {
                p.functions.entry(current.clone()).or_default().self_ir += ir;
            }
        }
        Ok(p)
    }

    /// Inclusive cost: self plus every call it makes (recursive self-calls excluded, as
    /// callgrind does). 0 for a function that never ran.
    pub fn inclusive(&self, name: &str) -> u64 {
        self.functions
            .get(name)
            .map(|f| f.self_ir + f.callees.iter().filter(|(c, _)| c.as_str() != name).map(|(_, v)| v).sum::<u64>())
            .unwrap_or(0)
    }

    pub fn calls(&self, name: &str) -> u64 {
        self.functions.get(name).map(|f| f.calls).unwrap_or(0)
    }
}
