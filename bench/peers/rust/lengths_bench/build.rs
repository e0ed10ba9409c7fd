//! Reads the version of `rnn-runtime` that Cargo.lock resolved, so the JSON line reports the crate
//! version actually built (as `PEER_VERSION`).
const CRATE: &str = "rnn-runtime";

fn main() {
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    println!("cargo:rerun-if-changed={lock}");
    let text = std::fs::read_to_string(lock).expect("Cargo.lock");
    let version = text
        .split("[[package]]")
        .find_map(|pkg| {
            let field = |key: &str| {
                pkg.lines()
                    .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix(" = "))
                    .map(|v| v.trim_matches('"'))
            };
            (field("name")? == CRATE)
                .then(|| field("version"))
                .flatten()
        })
        .unwrap_or_else(|| panic!("{CRATE} not in Cargo.lock"));
    println!("cargo:rustc-env=PEER_VERSION={version}");
}
