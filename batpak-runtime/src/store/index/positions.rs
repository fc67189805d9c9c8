//! A list of event positions split in two parts: the part in the index's
//! mapped base, then the part published since the base was opened.

/// The positions of one list, in commit order: `base` then `tail`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Positions<'a> {
    base: &'a [u32],
    tail: &'a [u32],
}

impl<'a> Positions<'a> {
    /// The list `base` followed by `tail`.
    pub(crate) fn new(base: &'a [u32], tail: &'a [u32]) -> Self {
        Self { base, tail }
    }

    /// The number of positions.
    pub(crate) fn len(&self) -> usize {
        self.base.len() + self.tail.len()
    }

    /// The `i`-th position.
    pub(crate) fn get(&self, i: usize) -> Option<u32> {
        match self.base.get(i) {
            Some(&p) => Some(p),
            None => self.tail.get(i - self.base.len()).copied(),
        }
    }

    /// The last position.
    pub(crate) fn last(&self) -> Option<&'a u32> {
        self.tail.last().or(self.base.last())
    }

    /// The positions in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = u32> + 'a {
        self.base.iter().chain(self.tail).copied()
    }

    /// The index of the first position for which `pred` is false (the list
    /// is partitioned by `pred`), as [`slice::partition_point`].
    pub(crate) fn partition_point(&self, pred: impl Fn(u32) -> bool) -> usize {
        let in_base = self.base.partition_point(|&p| pred(p));
        if in_base < self.base.len() {
            return in_base;
        }
        in_base + self.tail.partition_point(|&p| pred(p))
    }

    /// The positions from the `i`-th on.
    pub(crate) fn skip(&self, i: usize) -> Positions<'a> {
        let b = i.min(self.base.len());
        let t = (i - b).min(self.tail.len());
        Self::new(&self.base[b..], &self.tail[t..])
    }

    /// The positions from the `start`-th up to (not including) the `end`-th.
    pub(crate) fn range(&self, start: usize, end: usize) -> Positions<'a> {
        let end = end.min(self.len());
        let (b_end, t_end) = (
            end.min(self.base.len()),
            end.saturating_sub(self.base.len()),
        );
        let b = start.min(b_end);
        let t = start.saturating_sub(self.base.len()).min(t_end);
        Self::new(&self.base[b..b_end], &self.tail[t..t_end])
    }

    /// The positions as a vector.
    pub(crate) fn to_vec(self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len());
        out.extend_from_slice(self.base);
        out.extend_from_slice(self.tail);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Positions;

    #[test]
    fn two_parts_read_as_one_list() {
        let p = Positions::new(&[1, 3, 5], &[7, 9]);
        assert_eq!(p.len(), 5);
        assert_eq!(p.get(3), Some(7));
        assert_eq!(p.get(5), None);
        assert_eq!(p.last(), Some(&9));
        assert_eq!(p.partition_point(|x| x < 5), 2);
        assert_eq!(p.partition_point(|x| x < 8), 4);
        assert_eq!(p.skip(4).to_vec(), vec![9]);
        assert_eq!(p.skip(9).len(), 0);
        assert_eq!(p.range(1, 4).to_vec(), vec![3, 5, 7]);
        assert_eq!(p.range(3, 9).to_vec(), vec![7, 9]);
        assert_eq!(p.range(0, 2).to_vec(), vec![1, 3]);
        assert_eq!(p.range(4, 2).len(), 0);
        assert_eq!(p.iter().next_back(), Some(9));
        assert_eq!(Positions::new(&[], &[2]).last(), Some(&2));
        assert_eq!(Positions::default().len(), 0);
    }
}
