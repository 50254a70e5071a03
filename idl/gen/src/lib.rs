//! Writes `idl/<program>.json` for every deployable program, or checks they are current.
//!
//! Each program's `idl-build` feature prints its IDL in pieces (address, errors, events,
//! program) from `cargo test __anchor_private_print_idl`; this merges them as `anchor idl
//! build` does, without changing RUSTFLAGS (which would rebuild the whole dependency graph).
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, IDL file name) of every program whose IDL is published; one line each.
pub const PROGRAMS: &[(&str, &str)] =
    &[("perpetual", "perpetual"), ("orderbook", "orderbook"), ("test-trader", "test_trader"), ("vault", "vault")];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn idl_path(name: &str) -> PathBuf {
    repo_root().join("idl").join(format!("{name}.json"))
}

/// The IDL of `package` as pretty JSON, generated from the code.
pub fn generate(package: &str) -> Result<String, String> {
    let idl = build(&repo_root(), package)?;
    Ok(serde_json::to_string_pretty(&idl).map_err(|e| e.to_string())? + "\n")
}

/// Names of the checked-in IDLs that differ from the code.
pub fn stale() -> Result<Vec<String>, String> {
    let mut out = vec![];
    for (package, name) in PROGRAMS {
        let text = generate(package)?;
        if std::fs::read_to_string(idl_path(name)).ok().as_deref() != Some(text.as_str()) {
            out.push(format!("idl/{name}.json"));
        }
    }
    Ok(out)
}

pub fn build(root: &Path, package: &str) -> Result<Value, String> {
    let stdout = print_test(root, package, "__anchor_private_print_idl")?;
    let mut idl = merge(&stdout)?;
    let name = idl["metadata"]["name"].as_str().ok_or("IDL without metadata.name")?.to_string();
    add_extras(&mut idl, &extras(root, &name)?)?;
    Ok(idl)
}

/// The output of `package`'s tests matching `filter` built with `idl-build`: Anchor's IDL
/// printers write their JSON there.
fn print_test(root: &Path, package: &str, filter: &str) -> Result<String, String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "test",
            "--locked",
            "-p",
            package,
            "--features",
            "idl-build",
            filter,
            "--",
            "--show-output",
            "--quiet",
            "--test-threads=1",
        ])
        .current_dir(root)
        // Its own target directory: programs are cdylib+lib, so their rlibs have unhashed
        // names, and an idl-build variant written into the shared directory would replace
        // the one other crates (and their doctests) link against.
        .env("CARGO_TARGET_DIR", root.join("target").join("idl-build"))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `extra <name>` sections idl-gen-extra prints for the program named `name`.
fn extras(root: &Path, name: &str) -> Result<Vec<Value>, String> {
    let stdout = print_test(root, "idl-gen-extra", &format!("__anchor_private_print_idl_extra_{name}"))?;
    let kind = format!("extra {name}");
    blocks(&stdout)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, text)| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .collect()
}

/// Adds accounts and types no instruction names (see idl/gen/extra), keeping Anchor's order
/// (accounts and types by name) and the first definition of a type.
fn add_extras(idl: &mut Value, extras: &[Value]) -> Result<(), String> {
    if extras.is_empty() {
        return Ok(());
    }
    let obj = idl.as_object_mut().ok_or("IDL is not an object")?;
    for key in ["accounts", "types"] {
        let mut items = obj.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        for extra in extras {
            items.extend(extra[key].as_array().cloned().unwrap_or_default());
        }
        let mut named: Vec<(String, Value)> =
            items.into_iter().map(|v| (v["name"].as_str().map(short_name).unwrap_or_default(), v)).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named.dedup_by(|a, b| a.0 == b.0);
        let mut items: Vec<Value> = named.into_iter().map(|(_, v)| v).collect();
        items.iter_mut().for_each(strip_module_paths);
        obj.insert(key.into(), Value::Array(items));
    }
    Ok(())
}

/// Collects the text between `--- IDL begin X ---` and `--- IDL end X ---` markers.
fn blocks(stdout: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in stdout.lines() {
        if let Some(kind) = line.strip_prefix("--- IDL begin ").and_then(|l| l.strip_suffix(" ---")) {
            current = Some((kind.to_string(), vec![]));
        } else if line.starts_with("--- IDL end ") {
            if let Some((kind, lines)) = current.take() {
                out.push((kind, lines.join("\n")));
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    out
}

fn merge(stdout: &str) -> Result<Value, String> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).map_err(|e| e.to_string());
    let (mut address, mut errors, mut events, mut program) = (Value::Null, Value::Array(vec![]), vec![], None);
    let mut types: Vec<Value> = vec![];
    for (kind, text) in blocks(stdout) {
        match kind.as_str() {
            "address" => address = parse(&text)?,
            "errors" => errors = parse(&text)?,
            "event" => {
                let v = parse(&text)?;
                events.push(v["event"].clone());
                types.extend(v["types"].as_array().cloned().unwrap_or_default());
            }
            "program" => program = Some(parse(&text)?),
            _ => {}
        }
    }
    let mut idl = program.ok_or("no program IDL printed")?;
    let obj = idl.as_object_mut().ok_or("program IDL is not an object")?;
    types.extend(obj.get("types").and_then(Value::as_array).cloned().unwrap_or_default());
    types.sort_by_key(|t| t["name"].as_str().map(short_name).unwrap_or_default());
    types.dedup_by_key(|t| t["name"].as_str().map(short_name).unwrap_or_default());
    events.sort_by_key(|e| e["name"].as_str().map(short_name).unwrap_or_default());
    obj.insert("address".into(), address);
    obj.insert("events".into(), Value::Array(events));
    obj.insert("errors".into(), errors);
    obj.insert("types".into(), Value::Array(types));
    let mut idl = reorder(idl);
    strip_module_paths(&mut idl);
    Ok(idl)
}

/// Anchor's key order: address, metadata, instructions, accounts, events, errors, types.
fn reorder(idl: Value) -> Value {
    let mut obj = match idl {
        Value::Object(o) => o,
        other => return other,
    };
    let mut out = Map::new();
    for key in ["address", "metadata", "instructions", "accounts", "events", "errors", "types", "constants"] {
        if let Some(v) = obj.remove(key) {
            out.insert(key.into(), v);
        }
    }
    out.extend(obj);
    Value::Object(out)
}

fn short_name(name: &str) -> String {
    name.rsplit("::").next().unwrap_or(name).to_string()
}

/// Type names are printed with their Rust module path; clients know them by the last segment.
fn strip_module_paths(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "name" {
                    if let Value::String(s) = val {
                        *s = short_name(s);
                    }
                }
                strip_module_paths(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_module_paths),
        _ => {}
    }
}
