//! `rnn-nostd` as a static library for C: the `rnn_*` functions of that crate, plus
//! the panic handler that a `no_std` final artifact must bring. A panic cannot come
//! from user input on these paths (every shape is a type); should one happen anyway,
//! the core halts here.

// Under a test harness (`clippy --all-targets`) std is linked and brings its own
// panic handler.
#![cfg_attr(not(test), no_std)]

// Links the crate whose `#[no_mangle]` functions this library exports.
extern crate rnn_nostd;

#[cfg(not(test))]
#[panic_handler]
fn halt(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
