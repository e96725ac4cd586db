//! The atomics seam.
//!
//! Every atomic the breaker uses comes from here, so the whole crate can be
//! model-checked by building it with `RUSTFLAGS="--cfg loom"`: loom's atomics
//! then replace portable-atomic's, and loom explores every interleaving the
//! memory model allows. Code above this module never knows which it got.
//!
//! Only 32-bit atomics are used. On 32-bit targets a 64-bit portable-atomic
//! falls back to a global spinlock that does not mask interrupts, so a breaker
//! shared with an interrupt handler could deadlock; 32-bit words are native
//! (lock-free) on every target with CAS, and a critical section on those
//! without.

#[cfg(not(loom))]
pub(crate) use portable_atomic::{fence, AtomicU32, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, Ordering};

/// A new atomic, as a `const` expression where the platform allows it.
///
/// loom's atomics have no `const fn new`; constructors that use this macro are
/// `const fn` in normal builds and plain `fn` under loom (see [`const_fn!`]).
macro_rules! atomic_u32 {
    ($v:expr) => {
        $crate::sync::AtomicU32::new($v)
    };
}
pub(crate) use atomic_u32;

/// Declares a function that is `const fn` in normal builds and a plain `fn`
/// under loom, whose atomics cannot be built in a `const` context.
macro_rules! const_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$m])* $vis const fn $name $($rest)*
        #[cfg(loom)]
        $(#[$m])* $vis fn $name $($rest)*
    };
}
pub(crate) use const_fn;
