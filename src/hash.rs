//! The hasher of every map keyed by an address (or an `Id`, or tuples of them).

/// A hasher for maps keyed by target addresses: one folded multiply (SipHash costs more
/// than the lookup it guards on every cached read).
#[derive(Default, Clone, Copy)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        let m = u128::from(self.0 ^ v) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`AddrHasher`]s: for maps and sets keyed by addresses (or tuples of them).
pub type AddrHash = std::hash::BuildHasherDefault<AddrHasher>;
