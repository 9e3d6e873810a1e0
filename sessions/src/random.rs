//! Where the wire format's fresh randomness comes from: AES-GCM nonces and session ids, from `rand`'s
//! thread-local CSPRNG, seeded by the operating system.
//!
//! A fork copies the forking thread's generator, and `rand` does not reseed it: if that thread sealed
//! before the fork and both processes seal from it afterwards, they draw the same nonces. Threads
//! started after the fork (a runtime's workers) seed themselves afresh. So fork before the first
//! session is sealed, or call `rand::rng().reseed()` in the child right after the fork.
//!
//! The crate's own unit tests can pin it ([`tests::pinned`]) to make sealed bytes repeatable, which is
//! how the golden vectors of the wire format are made and checked. Nothing outside `cfg(test)` can.

/// Fills `bytes` with fresh random bytes.
pub(crate) fn fill(bytes: &mut [u8]) {
    #[cfg(test)]
    if tests::fill_pinned(bytes) {
        return;
    }
    rand::Rng::fill_bytes(&mut rand::rng(), bytes);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        static PINNED: Cell<Option<u8>> = const { Cell::new(None) };
    }

    /// Runs `f` with this thread's randomness replaced by the counting bytes `seed, seed + 1, …`.
    pub(crate) fn pinned<R>(seed: u8, f: impl FnOnce() -> R) -> R {
        PINNED.set(Some(seed));
        let result = f();
        PINNED.set(None);
        result
    }

    pub(super) fn fill_pinned(bytes: &mut [u8]) -> bool {
        let Some(mut next) = PINNED.get() else {
            return false;
        };
        for byte in bytes {
            *byte = next;
            next = next.wrapping_add(1);
        }
        PINNED.set(Some(next));
        true
    }
}
