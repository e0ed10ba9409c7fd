//! What every fuzz target runs: one loader of the shared table (the same table the
//! mutation test `rnn-runtime/tests/corrupt_files.rs` walks) on the fuzzer's bytes,
//! under the same allocation bound.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Once;

#[path = "../../rnn-runtime/tests/loaders/mod.rs"]
pub mod loaders;

/// Counts live heap bytes and their peak, so that a load holding more than
/// `loaders::alloc_bound` is a crash, long before libFuzzer's `-malloc_limit_mb` or
/// `-rss_limit_mb` would notice (a 64 MiB bomb passes both).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(bytes: isize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grow(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Loads `data` with loader `name` (its first byte picks the model when the loader has
/// several, see `Loader::split_input`); a panic, an abort or a peak of heap over
/// `alloc_bound` is what libFuzzer reports.
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
    let loader = loaders::loader(name);
    let Some((case, file)) = loader.split_input(data) else {
        return;
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let _ = (case.load)(file);
    let peak = (PEAK.load(Ordering::Relaxed) - base).max(0) as usize;
    let bound = loader.alloc_bound(file.len(), case.model_bytes);
    assert!(
        peak <= bound,
        "{name}: the load held {peak} heap bytes at once, over the bound {bound} for a \
         {}-byte file",
        file.len()
    );
}
