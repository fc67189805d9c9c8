//! Lazy integrity of a mapped index image: the image is cut into 4 KiB
//! blocks, and the snapshot stores each block's CRC32 in its eagerly checked
//! part. A block is checked the first time a read touches it (then marked in
//! a bitmap, so later reads pay one bit test per 64 blocks), so an open reads
//! none of the image's bulk and a query reads only the pages it uses. A
//! mismatch is never served: the base rebuilds its image from the log (see
//! `base`).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per checked block; the last block of an image may be shorter.
pub(crate) const BLOCK_BYTES: usize = 4096;

/// The CRC32 of each block of `image`.
pub(crate) fn block_crcs(image: &[u8]) -> Vec<u32> {
    image.chunks(BLOCK_BYTES).map(crc32fast::hash).collect()
}

/// The stored CRC of each block of an image, and which blocks were checked.
#[derive(Debug)]
pub(crate) struct Blocks {
    crcs: Vec<u32>,
    /// Bit `b` set: block `b` matched its CRC. A set bit only says that the
    /// mapped (immutable) bytes matched, so relaxed ordering is enough.
    checked: Box<[AtomicU64]>,
}

impl Blocks {
    /// The table for an image of `image_len` bytes; `None` when the table
    /// does not have one CRC per block.
    pub(crate) fn new(crcs: Vec<u32>, image_len: usize) -> Option<Self> {
        if crcs.len() != image_len.div_ceil(BLOCK_BYTES) {
            return None;
        }
        let checked = (0..crcs.len().div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        Some(Self { crcs, checked })
    }

    /// Whether every block overlapping `range` of `image` matches its CRC;
    /// the blocks not checked before are checked now.
    pub(crate) fn check(&self, image: &[u8], range: Range<usize>) -> bool {
        if range.is_empty() {
            return true;
        }
        let blocks = range.start / BLOCK_BYTES..(range.end - 1) / BLOCK_BYTES + 1;
        if self.all_checked(blocks.clone()) {
            return true;
        }
        blocks.into_iter().all(|b| self.check_block(image, b))
    }

    /// Whether every block in `blocks` is marked checked, a word at a time.
    fn all_checked(&self, blocks: Range<usize>) -> bool {
        let mut b = blocks.start;
        while b < blocks.end {
            let bit = b % 64;
            let n = (64 - bit).min(blocks.end - b);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            let word = self
                .checked
                .get(b / 64)
                .map_or(0, |w| w.load(Ordering::Relaxed));
            if word & mask != mask {
                return false;
            }
            b += n;
        }
        true
    }

    fn check_block(&self, image: &[u8], b: usize) -> bool {
        let Some(word) = self.checked.get(b / 64) else {
            return false;
        };
        let bit = 1u64 << (b % 64);
        if word.load(Ordering::Relaxed) & bit != 0 {
            return true;
        }
        let from = b * BLOCK_BYTES;
        let bytes = image.get(from..(from + BLOCK_BYTES).min(image.len()));
        let ok = bytes.is_some_and(|bytes| self.crcs.get(b) == Some(&crc32fast::hash(bytes)));
        if ok {
            word.fetch_or(bit, Ordering::Relaxed);
        }
        ok
    }

    /// Whether `image` (a rebuilt one) matches every stored CRC: then it is
    /// the image the snapshot stored, byte for byte, up to CRC collisions.
    pub(crate) fn matches(&self, image: &[u8]) -> bool {
        image.len().div_ceil(BLOCK_BYTES) == self.crcs.len() && block_crcs(image) == self.crcs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_checked_once_and_a_damaged_block_fails_only_its_ranges() {
        let mut image: Vec<u8> = (0..3 * BLOCK_BYTES + 100).map(|i| i as u8).collect();
        let blocks = Blocks::new(block_crcs(&image), image.len()).expect("one CRC per block");
        assert!(Blocks::new(vec![0; 2], image.len()).is_none());
        assert!(blocks.matches(&image));
        image[BLOCK_BYTES + 7] ^= 1;
        assert!(!blocks.matches(&image));
        assert!(blocks.check(&image, 0..BLOCK_BYTES));
        assert!(!blocks.check(&image, BLOCK_BYTES - 1..BLOCK_BYTES + 1));
        assert!(blocks.check(&image, 2 * BLOCK_BYTES..image.len()));
        assert!(!blocks.check(&image, 0..image.len()));
        assert!(blocks.check(&image, 5..5));
        // Once checked, a block is not read again: undoing the damage in a
        // checked block goes unnoticed, which is why only immutable bytes
        // are checked this way.
        image[7] ^= 1;
        assert!(blocks.check(&image, 0..10));
        assert!(!blocks.check(&image, BLOCK_BYTES..BLOCK_BYTES + 1));
    }

    #[test]
    fn word_masks_cover_ranges_across_words() {
        let image = vec![0u8; 130 * BLOCK_BYTES];
        let blocks = Blocks::new(block_crcs(&image), image.len()).expect("one CRC per block");
        assert!(!blocks.all_checked(60..70));
        assert!(blocks.check(&image, 60 * BLOCK_BYTES..70 * BLOCK_BYTES));
        assert!(blocks.all_checked(60..70));
        assert!(!blocks.all_checked(59..70));
        assert!(!blocks.all_checked(60..71));
        assert!(blocks.check(&image, 0..image.len()));
        assert!(blocks.all_checked(0..130));
    }
}
