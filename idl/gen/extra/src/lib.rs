//! Accounts a program defines but no instruction's account list names, for idl-gen.
//!
//! Anchor's IDL build includes only the accounts that some `#[derive(Accounts)]` struct
//! loads by type. The perpetual program reads margin accounts as raw bytes (a header followed
//! by a variable number of positions), so `MarginAccount` and `Position` are missing from its
//! printed IDL and TypeScript clients could not decode them. With `idl-build`, each test here
//! prints an `extra <idl name>` section (`{"accounts": [...], "types": [...]}`) that idl-gen
//! merges into that program's IDL. To add a program: one more test with its types.
#[cfg(all(test, feature = "idl-build"))]
mod print {
    use anchor_lang::idl::types::IdlTypeDef;
    use anchor_lang::idl::{serde_json, IdlBuild};
    use anchor_lang::Discriminator;
    use std::collections::BTreeMap;

    /// Inserts `T` and every type it names.
    fn add<T: IdlBuild>(types: &mut BTreeMap<String, IdlTypeDef>) {
        T::insert_types(types);
        types.insert(T::get_full_path(), T::create_type().expect("an IDL type"));
    }

    /// An `accounts` entry: name and discriminator.
    fn account<T: Discriminator>(name: &str) -> String {
        format!("{{\"name\": \"{name}\", \"discriminator\": {:?}}}", T::DISCRIMINATOR)
    }

    /// Serialized from the structs (not through `serde_json::Value`, whose keys this
    /// serde_json would sort), so the keys keep Anchor's order.
    fn print(idl_name: &str, accounts: Vec<String>, types: BTreeMap<String, IdlTypeDef>) {
        let types: Vec<String> = types.values().map(|t| serde_json::to_string(t).unwrap()).collect();
        println!("--- IDL begin extra {idl_name} ---");
        println!("{{\"accounts\": [{}], \"types\": [{}]}}", accounts.join(", "), types.join(", "));
        println!("--- IDL end extra {idl_name} ---");
    }

    #[test]
    fn __anchor_private_print_idl_extra_perpetual() {
        use perpetual::state::{MarginAccount, Position};
        let mut types = BTreeMap::new();
        add::<MarginAccount>(&mut types);
        // The positions that follow the header: `MarginAccount::space(position_capacity)`.
        add::<Position>(&mut types);
        print("perpetual", vec![account::<MarginAccount>("MarginAccount")], types);
    }
}
