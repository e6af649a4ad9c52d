//! Structured input from raw bytes: each call takes the next byte(s) of
//! the fuzzer's input as a choice, and an exhausted input answers 0 (the
//! first option) for ever, so every byte string is a valid description and
//! a short one a simple case. AFL's byte mutations then move between
//! nearby structures.

/// A reader of choices (see the module docs).
pub struct Choices<'a> {
    data: &'a [u8],
}

impl<'a> Choices<'a> {
    /// Choices drawn from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte (0 once the input is used up).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next two bytes as a number.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n
        } else {
            usize::from(self.u16()) % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo).unwrap_or(0).saturating_add(1);
        let n = u64::from(self.u16()) % span.max(1);
        lo + i64::try_from(n).unwrap_or(0)
    }

    /// One of `options` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())]
    }

    /// True with probability about `1 / n`; false once the input is used up.
    pub fn one_in(&mut self, n: u8) -> bool {
        let b = self.byte();
        b != 0 && b.is_multiple_of(n.max(1))
    }
}
