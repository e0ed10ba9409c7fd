//! What every fuzz target runs: one loader of the shared table (the same table the
//! mutation test `rnn-runtime/tests/corrupt_files.rs` walks) on the fuzzer's bytes.

use std::panic;
use std::sync::Once;

#[path = "../../rnn-runtime/tests/loaders/mod.rs"]
pub mod loaders;

/// Loads `data` with loader `name` (its first byte picks the model when the loader has
/// several, see `Loader::load_input`); a panic or an abort is what libFuzzer reports.
///
/// The HDF5 reader's panics are caught by `keras/h5.rs` and become errors, but
/// libFuzzer's panic hook would abort on them first. They are let through (printed
/// once per source location, as bugs of the reader to report) so that the fuzzer gets
/// past them to our code; `RNN_FUZZ_STRICT_H5=1` makes them crashes again, to collect
/// inputs.
pub fn run(name: &str, data: &[u8]) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        if std::env::var_os("RNN_FUZZ_STRICT_H5").is_some() {
            return;
        }
        let fuzzer = panic::take_hook();
        let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
        panic::set_hook(Box::new(move |info| {
            match info.location().filter(|l| l.file().contains("rustyhdf5")) {
                Some(at) => {
                    let key = format!("{}:{}", at.file(), at.line());
                    if seen.lock().is_ok_and(|mut s| s.insert(key)) {
                        eprintln!("caught HDF5 reader panic (reported, not a crash): {info}");
                    }
                }
                None => fuzzer(info),
            }
        }));
    });
    loaders::loader(name).load_input(data);
}
