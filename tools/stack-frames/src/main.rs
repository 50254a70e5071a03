//! `stack-frames`: the largest stack frames of the on-chain programs, checked against a budget.
//!
//! SBF gives every call frame a fixed 4 KiB (4,096 bytes) of stack; a function whose locals
//! need more fails at run time ("Access violation in stack frame", or the build's "Stack
//! offset of N exceeded max offset of 4096"). The SBF toolchain cannot be installed here, so
//! this is a proxy: `.ci/stack-frames` compiles each program natively (x86_64, release,
//! `-Z emit-stack-sizes`, one codegen unit) and this tool reads the `.stack_sizes` sections
//! LLVM writes into the object files: per function, an address (pointer-sized, in a
//! relocatable object a zero field with a relocation against the function's symbol or its
//! section's symbol) followed by the frame size as ULEB128. Native frames and SBF frames are
//! not equal (different registers, calling convention and spilling), hence the margin below.
//!
//! Usage: `stack-frames [--top N] FILE.o...` prints the `N` (default 15) largest frames
//! (function, bytes, where instantiated), then every function over [`BUDGET`], and exits
//! with status 1 if there is one (2 on a usage or read error, or if a file has no
//! `.stack_sizes` section, which means the flag did not reach the compiler).
//!
//! What counts: every function in the program's own object, i.e. the crate's own code and
//! every generic or `#[inline]` function of a dependency (Anchor, borsh, bytemuck, core, ...)
//! instantiated there. That is what runs on chain in our program's frames, and when such an
//! instantiation is large it is almost always because of our types (a large account or event
//! struct deserialized or copied by value), so the fix belongs in our code. The listing tags
//! each function `own` (its path, or the type or trait of its impl, is in one of [`OWN_CRATES`])
//! or `dep` (dependency code instantiated in our object), and says which of the over-budget
//! functions are which, but both fail the check. Non-generic dependency code compiled in the
//! dependency's own crate is not in these objects and is not checked.

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex, SymbolKind};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

/// Largest frame, in bytes, any function in the programs' objects may have natively: 3 KiB,
/// leaving a quarter of SBF's 4,096-byte frame as margin for the native/SBF difference.
/// This is the only place the budget is stated.
pub const BUDGET: u64 = 3 * 1024;

/// SBF's fixed stack frame per call, for the report.
const SBF_FRAME: u64 = 4096;

/// The programs' own crates: functions defined in them (or impls of their types or traits)
/// are tagged `own`, everything else `dep`.
const OWN_CRATES: &[&str] = &["perpetual", "orderbook", "critbit", "vault"];

const DEFAULT_TOP: usize = 15;

/// One function's frame, merged over the objects it is instantiated in (the largest frame kept).
struct Frame {
    bytes: u64,
    own: bool,
    objects: Vec<String>,
}

fn main() -> ExitCode {
    let mut out = String::new();
    let code = run(&mut out);
    // Written at once; a closed pipe (`| head`) is not an error.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    code
}

/// `println!` into the report buffer.
macro_rules! say {
    ($out:expr) => { let _ = writeln!($out); };
    ($out:expr, $($arg:tt)*) => { let _ = writeln!($out, $($arg)*); };
}

fn run(out: &mut String) -> ExitCode {
    let mut top = DEFAULT_TOP;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--top" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => top = n,
                None => return usage("--top needs a number"),
            },
            "-h" | "--help" => {
                say!(out, "usage: stack-frames [--top N] FILE.o...  (budget {BUDGET} bytes per frame)");
                return ExitCode::SUCCESS;
            }
            _ if arg.starts_with('-') => return usage(&format!("unknown option {arg}")),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return usage("no object files given");
    }

    let mut frames: HashMap<String, Frame> = HashMap::new();
    for path in &files {
        let label = object_label(path);
        let entries = match read_stack_sizes(path) {
            Ok(e) if e.is_empty() => {
                eprintln!("stack-frames: {path}: no .stack_sizes section (was it compiled with -Z emit-stack-sizes?)");
                return ExitCode::from(2);
            }
            Ok(e) => e,
            Err(e) => {
                eprintln!("stack-frames: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        say!(out, "{label}: {} functions", entries.len());
        for (name, bytes) in entries {
            let f = frames.entry(name.clone()).or_insert_with(|| Frame {
                bytes: 0,
                own: is_own(&name),
                objects: Vec::new(),
            });
            f.bytes = f.bytes.max(bytes);
            if !f.objects.contains(&label) {
                f.objects.push(label.clone());
            }
        }
    }

    let mut sorted: Vec<(&String, &Frame)> = frames.iter().collect();
    sorted.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(b.0)));

    say!(out);
    say!(out, "largest stack frames (native x86_64; budget {BUDGET} bytes, SBF frame {SBF_FRAME}):");
    say!(out, "{:>7}  {:<4} {:<22} function", "bytes", "kind", "object");
    for (name, f) in sorted.iter().take(top) {
        print_frame(out, name, f);
    }

    let over: Vec<_> = sorted.iter().filter(|(_, f)| f.bytes > BUDGET).collect();
    say!(out);
    if over.is_empty() {
        say!(
            out,
            "OK: all {} functions within {BUDGET} bytes (largest {} bytes)",
            sorted.len(),
            sorted.first().map_or(0, |(_, f)| f.bytes)
        );
        return ExitCode::SUCCESS;
    }
    for (kind, own) in [("our crates' code", true), ("dependency code instantiated in our objects", false)] {
        let list: Vec<_> = over.iter().filter(|(_, f)| f.own == own).collect();
        if !list.is_empty() {
            say!(out, "over budget, {kind} ({}):", list.len());
            for (name, f) in list {
                print_frame(out, name, f);
            }
        }
    }
    say!(out, "FAIL: {} function(s) over {BUDGET} bytes", over.len());
    ExitCode::from(1)
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("stack-frames: {msg}\nusage: stack-frames [--top N] FILE.o...");
    ExitCode::from(2)
}

fn print_frame(out: &mut String, name: &str, f: &Frame) {
    say!(out, "{:>7}  {:<4} {:<22} {name}", f.bytes, if f.own { "own" } else { "dep" }, f.objects.join(","));
}

/// `target/.../deps/perpetual-0123abcd.o` -> `perpetual`.
fn object_label(path: &str) -> String {
    let file = std::path::Path::new(path).file_stem().map_or(path.into(), |s| s.to_string_lossy().into_owned());
    match file.rsplit_once('-') {
        Some((krate, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => krate.to_string(),
        _ => file,
    }
}

/// Whether a demangled path belongs to one of [`OWN_CRATES`]: `krate::f`, `<krate::T>::f`,
/// `<krate::T as Trait>::f`, `<T as krate::Trait>::f` (also with `&`/`mut` before the type).
fn is_own(name: &str) -> bool {
    let starts_own = |s: &str| {
        let s = s.trim_start_matches(['&', '*', ' ', '[', '(']).trim_start_matches("mut ").trim_start_matches("const ");
        OWN_CRATES.iter().any(|c| s.strip_prefix(c).is_some_and(|rest| rest.starts_with("::")))
    };
    if let Some(inner) = name.strip_prefix('<') {
        if starts_own(inner) {
            return true;
        }
        // The trait of `<T as Trait>`: the " as " at nesting depth 0 of the impl header.
        let mut depth = 0i32;
        let bytes = inner.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'<' => depth += 1,
                b'>' if depth == 0 => break,
                b'>' => depth -= 1,
                b' ' if depth == 0 && inner[i..].starts_with(" as ") => return starts_own(&inner[i + 4..]),
                _ => {}
            }
        }
        false
    } else {
        starts_own(name)
    }
}

fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_string(),
    }
}

/// Every (function, frame bytes) pair of all `.stack_sizes` sections of one object file.
fn read_stack_sizes(path: &str) -> Result<Vec<(String, u64)>, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let file = object::File::parse(&*data).map_err(|e| e.to_string())?;
    let little = file.is_little_endian();
    let addr_len = if file.is_64() { 8 } else { 4 };

    // Function symbols by (section, address): in a relocatable object the address is the
    // offset in the symbol's section; in a linked file it is the virtual address.
    let mut by_place: HashMap<(SectionIndex, u64), String> = HashMap::new();
    let mut by_addr: BTreeMap<u64, String> = BTreeMap::new();
    for sym in file.symbols() {
        if sym.kind() != SymbolKind::Text {
            continue;
        }
        let (Ok(name), Some(section)) = (sym.name(), sym.section_index()) else { continue };
        if name.is_empty() {
            continue;
        }
        // Prefer a global name over a local alias at the same place.
        let prefer = sym.is_global();
        let slot = by_place.entry((section, sym.address())).or_default();
        if slot.is_empty() || prefer {
            *slot = name.to_string();
        }
        by_addr.entry(sym.address()).or_insert_with(|| name.to_string());
    }

    let mut out = Vec::new();
    for section in file.sections() {
        if section.name() != Ok(".stack_sizes") {
            continue;
        }
        let bytes = section.data().map_err(|e| e.to_string())?;
        let relocs: HashMap<u64, object::Relocation> = section.relocations().collect();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let field_at = pos;
            let field = bytes.get(pos..pos + addr_len).ok_or("truncated .stack_sizes entry")?;
            let mut value = 0u64;
            for (i, &b) in field.iter().enumerate() {
                let shift = if little { 8 * i } else { 8 * (addr_len - 1 - i) };
                value |= u64::from(b) << shift;
            }
            pos += addr_len;
            let size = read_uleb128(bytes, &mut pos)?;

            let name = if let Some(reloc) = relocs.get(&(field_at as u64)) {
                let addend = reloc.addend() as u64;
                let offset = if reloc.has_implicit_addend() { addend.wrapping_add(value) } else { addend };
                match reloc.target() {
                    RelocationTarget::Symbol(idx) => {
                        let sym = file.symbol_by_index(idx).map_err(|e| e.to_string())?;
                        if sym.kind() == SymbolKind::Section {
                            // `.text.<fn> + offset`: the function symbol at that offset of that section.
                            let sec = sym.section_index().ok_or("section symbol without section")?;
                            by_place.get(&(sec, offset)).cloned().unwrap_or_else(|| {
                                let sname =
                                    file.section_by_index(sec).ok().and_then(|s| s.name().ok().map(String::from));
                                let sname = sname.unwrap_or_default();
                                let base = sname.strip_prefix(".text.").unwrap_or(&sname).to_string();
                                if offset == 0 {
                                    base
                                } else {
                                    format!("{base}+{offset:#x}")
                                }
                            })
                        } else {
                            let n = sym.name().map_err(|e| e.to_string())?.to_string();
                            if offset == 0 {
                                n
                            } else {
                                format!("{n}+{offset:#x}")
                            }
                        }
                    }
                    RelocationTarget::Section(sec) => by_place
                        .get(&(sec, offset))
                        .cloned()
                        .unwrap_or_else(|| format!("section {}+{offset:#x}", sec.0)),
                    _ => format!("?{offset:#x}"),
                }
            } else {
                // Linked file: the field holds the function's address.
                by_addr.get(&value).cloned().unwrap_or_else(|| format!("?{value:#x}"))
            };
            out.push((demangle(&name), size));
        }
    }
    Ok(out)
}

fn read_uleb128(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *bytes.get(*pos).ok_or("truncated ULEB128 in .stack_sizes")?;
        *pos += 1;
        if shift < 64 {
            value |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uleb128() {
        let mut pos = 0;
        assert_eq!(read_uleb128(&[0xe5, 0x8e, 0x26, 0x7f], &mut pos).unwrap(), 624_485);
        assert_eq!(pos, 3);
        assert_eq!(read_uleb128(&[0xe5, 0x8e, 0x26, 0x7f], &mut pos).unwrap(), 127);
        assert!(read_uleb128(&[0x80], &mut 0).is_err());
    }

    #[test]
    fn ownership() {
        assert!(is_own("perpetual::math::var::var_margin"));
        assert!(is_own("<perpetual::state::Market>::prices"));
        assert!(is_own("<perpetual::state::Market as anchor_lang::AccountDeserialize>::try_deserialize"));
        assert!(is_own("<&mut orderbook::Book as core::fmt::Debug>::fmt"));
        assert!(is_own("<core::option::Option<u64> as critbit::Key>::key"));
        assert!(!is_own(
            "<anchor_lang::accounts::account::Account<perpetual::state::Market> as core::clone::Clone>::clone"
        ));
        assert!(!is_own("borsh::de::BorshDeserialize::deserialize"));
        assert!(!is_own("perpetuals::x"));
        assert!(!is_own("<alloc::vec::Vec<u8> as alloc::vec::spec_from_elem::SpecFromElem>::from_elem"));
    }

    #[test]
    fn labels() {
        assert_eq!(object_label("target/x/release/deps/perpetual-0123abcd.o"), "perpetual");
        assert_eq!(object_label("foo.o"), "foo");
    }
}
