//! `cargo run -p idl-gen` writes `idl/<program>.json`; `-- --check` fails when one is stale.
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    if check {
        return match idl_gen::stale() {
            Ok(stale) if stale.is_empty() => {
                println!("idl-gen: every IDL is current");
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                eprintln!("idl-gen: out of date (run `cargo run -p idl-gen`): {}", stale.join(", "));
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("idl-gen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    for (package, name) in idl_gen::PROGRAMS {
        match idl_gen::generate(package) {
            Ok(text) => {
                std::fs::write(idl_gen::idl_path(name), text).expect("write idl");
                println!("wrote idl/{name}.json");
            }
            Err(e) => {
                eprintln!("idl-gen: {package}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
