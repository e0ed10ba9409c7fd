//! Runtime CPU-feature dispatch for the element-wise kernels.
//!
//! The default x86-64 target only guarantees SSE2, so loops compiled for it run four
//! lanes at a time. [`multiversion!`] compiles a kernel body three times — for the
//! baseline, for AVX2 + FMA and for AVX-512 — and picks one per call from the CPU's
//! features (a cached atomic load). Each version is called only when the CPU has every
//! feature it is compiled with.
//!
//! The bodies use plain `*` and `+`, which Rust never contracts into fused
//! multiply-adds, so the three versions of one `multiversion!` kernel give the same
//! bits. That does not make a model's results the same on every x86-64 machine: the
//! matrix products (`gemm`'s tiled and step kernels, the AVX2 `matvec_add`) use FMA
//! instructions where the CPU has them and round differently from the portable code,
//! which every product falls back to under `RNN_PORTABLE`. See the crate's
//! "Reproducibility" section.

/// The process's choice, made once: at the first kernel that asks, from
/// `RNN_PORTABLE`, or earlier by [`use_portable_kernels`].
#[cfg(feature = "std")]
static ACCELERATED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Whether kernels may use instruction-set extensions found at run time: true unless
/// the environment variable `RNN_PORTABLE` is set or [`use_portable_kernels`] was
/// called, which force the baseline x86-64 (SSE2) code and portable fallbacks
/// everywhere — how the test suite checks the code paths that CPUs without AVX2 or
/// AVX-512 take, and how a host reproduces a `no_std` build's bits.
#[cfg(feature = "std")]
pub(crate) fn accelerated() -> bool {
    *ACCELERATED.get_or_init(|| std::env::var_os("RNN_PORTABLE").is_none())
}

/// Makes every kernel of this process the portable one, as the environment variable
/// `RNN_PORTABLE=1` does: no AVX2 or AVX-512, no fused multiply-adds, the arithmetic of
/// the `no_std` build. A host then reproduces a device's outputs bit for bit (see
/// "Reproducibility" in the crate documentation), at the portable kernels' speed.
///
/// The choice is made once per process, by the first computation of any model, and
/// cannot change afterwards (results would then depend on when a model ran); call
/// this first, before building a model.
///
/// # Errors
/// [`Error::KernelsChosen`](crate::Error::KernelsChosen) if the accelerated kernels
/// were already chosen; nothing changes then.
///
/// ```
/// // First thing in `main`, before any model is built.
/// rnn_runtime::use_portable_kernels()?;
/// assert!(rnn_runtime::portable_kernels());
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
#[cfg(feature = "std")]
pub fn use_portable_kernels() -> crate::error::Result<()> {
    // `set` fails if the choice is made; it stands if it was the portable one.
    if ACCELERATED.set(false).is_err() && accelerated() {
        return Err(crate::error::Error::KernelsChosen);
    }
    Ok(())
}

/// Whether this process runs the portable kernels ([`use_portable_kernels`] or
/// `RNN_PORTABLE`); makes the choice if nothing has yet. Always true without `std`.
pub fn portable_kernels() -> bool {
    #[cfg(feature = "std")]
    return !accelerated();
    #[cfg(not(feature = "std"))]
    true
}

/// Defines `$vis fn $name(args) -> ret` whose body runs compiled for AVX-512, or for
/// AVX2 and FMA, when the CPU has them, and for the baseline target otherwise.
///
/// The body is either a block, or `=> path` naming an `#[inline(always)]` function
/// with the same arguments (for bodies that are also used on their own).
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            $crate::kernels::simd::multiversion!(@dispatch body, ($($arg: $ty),*) $(-> $ret)?)
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            $crate::kernels::simd::multiversion!(@dispatch $body, ($($arg: $ty),*) $(-> $ret)?)
        }
    };
    (@dispatch $body:path, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {{
        // Feature detection needs std; without it the baseline build runs.
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        {
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) $(-> $ret)? {
                $body($($arg),*)
            }
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) $(-> $ret)? {
                $body($($arg),*)
            }
            if $crate::kernels::simd::accelerated() {
                // Detect every feature each version enables: a CPU (or a hypervisor
                // that masks features) may offer AVX-512F without FMA or AVX2.
                if std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has every feature `avx512` was compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has every feature `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
        }
        $body($($arg),*)
    }};
}

pub(crate) use multiversion;
