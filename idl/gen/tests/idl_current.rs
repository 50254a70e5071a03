//! CI's IDL check: the checked-in `idl/*.json` must match what the programs generate.
#[test]
fn checked_in_idls_match_the_programs() {
    let stale = idl_gen::stale().expect("IDL generation");
    assert!(stale.is_empty(), "out of date, run `cargo run -p idl-gen`: {stale:?}");
}
