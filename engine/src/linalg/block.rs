//! Several matrices carved out of one allocation at chosen offsets, so that where they sit
//! relative to each other is fixed by the engine instead of by the allocator's history.
//!
//! Why: on an Intel Xeon the same Figure-1 binary ran 1.5x slower per step when glibc placed
//! the gradient workspace's small matrices differently (`GLIBC_TUNABLES=glibc.malloc.mxfast=0`
//! alone reproduced it; same instructions under callgrind, see BENCHMARKS.md): buffers whose
//! addresses agree modulo 4096 bytes make loads look dependent on earlier stores (4K aliasing)
//! and compete for the same L1 sets. A [`Block`] starts every matrix on a 64-byte boundary
//! (faer's own alignment, with faer's column stride: the rows rounded up to 8 values, so the
//! products see the same shapes, strides and alignment as with owned `Mat`s and give the same
//! bits) and staggers the starts: matrix i begins at cache line `(STAGGER * i) mod 64` of a
//! 4096-byte page, a different line for each of the first 64 matrices.
//!
//! Views are built from safe slices ([`Region`]), so no unsafe code is needed: a caller splits
//! the block into disjoint regions at slot boundaries and views each slot from its region.

use faer::{MatMut, MatRef};

/// Values per 64-byte cache line (f64).
const LINE: usize = 8;
/// Values per 4096-byte page.
const PAGE: usize = 512;
/// Cache lines between consecutive matrices' offsets within a page: odd, so that i * STAGGER
/// mod 64 takes 64 distinct values for i = 0..63.
const STAGGER: usize = 17;

/// Where one matrix lives in a [`Block`]: a column-major rows x cols matrix starting at value
/// `off` of the block, columns `cs` values apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    pub off: usize,
    pub rows: usize,
    pub cols: usize,
    pub cs: usize,
}

impl Slot {
    /// One past the last value the slot uses (its start for an empty matrix).
    pub fn end(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            self.off
        } else {
            self.off + self.cs * (self.cols - 1) + self.rows
        }
    }
}

/// Lays matrices out one after the other: each starts at the next page boundary at or after the
/// previous one's end, plus its staggered cache-line offset.
#[derive(Debug, Default)]
pub struct Layout {
    end: usize,
    count: usize,
}

impl Layout {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserve a rows x cols matrix (faer's column stride: rows rounded up to a cache line).
    pub fn matrix(&mut self, rows: usize, cols: usize) -> Slot {
        let cs = rows.div_ceil(LINE) * LINE;
        let page = self.end.div_ceil(PAGE) * PAGE;
        let off = page + (STAGGER * self.count % (PAGE / LINE)) * LINE;
        self.count += 1;
        let slot = Slot {
            off,
            rows,
            cols,
            cs,
        };
        self.end = off + cs * cols;
        slot
    }

    /// Reserve a vector of `len` values (a len x 1 matrix).
    pub fn vector(&mut self, len: usize) -> Slot {
        self.matrix(len, 1)
    }

    /// Allocate the block, zero-filled. Saturating arithmetic is not needed: every slot's size
    /// is that of a matrix the model already allocates.
    pub fn build(self) -> Block {
        // One extra cache line so the start can be moved to a 64-byte boundary.
        let mem = vec![0.0; self.end + LINE];
        let misalign = (mem.as_ptr() as usize / std::mem::size_of::<f64>()) % LINE;
        let base = (LINE - misalign) % LINE;
        Block { mem, base }
    }
}

/// The allocation of a [`Layout`]. Offsets of its slots are relative to a 64-byte aligned start.
#[derive(Debug, Default)]
pub struct Block {
    mem: Vec<f64>,
    base: usize,
}

impl Block {
    /// The whole block as one region (offset 0 = the aligned start).
    pub fn region(&mut self) -> Region<'_> {
        let base = self.base;
        Region {
            mem: &mut self.mem[base..],
            start: 0,
        }
    }

    /// Read-only view of one slot.
    pub fn mat(&self, s: Slot) -> MatRef<'_, f64> {
        view(&self.mem[self.base..], 0, s)
    }

    /// Address of the block's value `off` (for tests of the layout).
    pub fn addr(&self, off: usize) -> usize {
        self.mem[self.base..].as_ptr() as usize + off * std::mem::size_of::<f64>()
    }
}

/// A contiguous part of a block: its values and the block offset of the first one.
pub struct Region<'a> {
    mem: &'a mut [f64],
    start: usize,
}

impl<'a> Region<'a> {
    /// Split at block offset `at` (clamped to the region): the values before and from it.
    pub fn split(self, at: usize) -> (Region<'a>, Region<'a>) {
        let k = at.saturating_sub(self.start).min(self.mem.len());
        let (a, b) = self.mem.split_at_mut(k);
        (
            Region {
                mem: a,
                start: self.start,
            },
            Region {
                mem: b,
                start: self.start + k,
            },
        )
    }

    /// The same region for a shorter borrow (to split it again later).
    pub fn by_ref(&mut self) -> Region<'_> {
        Region {
            mem: self.mem,
            start: self.start,
        }
    }

    /// The region read-only from here on (views then live as long as the region).
    pub fn freeze(self) -> Frozen<'a> {
        Frozen {
            mem: self.mem,
            start: self.start,
        }
    }

    /// Mutable view of slot `s`, which must lie in this region (panics otherwise: a layout bug).
    pub fn mat_mut(&mut self, s: Slot) -> MatMut<'_, f64> {
        view_mut(self.mem, self.start, s)
    }

    /// Mutable view of slot `s` for the region's whole lifetime.
    pub fn into_mat_mut(self, s: Slot) -> MatMut<'a, f64> {
        view_mut(self.mem, self.start, s)
    }

    /// Read-only view of slot `s`.
    pub fn mat(&self, s: Slot) -> MatRef<'_, f64> {
        view(self.mem, self.start, s)
    }

    /// Read-only view of slot `s` for the region's whole lifetime.
    pub fn into_mat(self, s: Slot) -> MatRef<'a, f64> {
        let mem: &'a [f64] = self.mem;
        view(mem, self.start, s)
    }

    /// Slot `s` (a vector) as a slice.
    pub fn slice_mut(&mut self, s: Slot) -> &mut [f64] {
        &mut self.mem[s.off - self.start..s.end() - self.start]
    }
}

/// A region no longer written: any number of read-only views of its slots.
#[derive(Clone, Copy)]
pub struct Frozen<'a> {
    mem: &'a [f64],
    start: usize,
}

impl<'a> Frozen<'a> {
    /// Read-only view of slot `s` (which must lie in this region).
    pub fn mat(&self, s: Slot) -> MatRef<'a, f64> {
        view(self.mem, self.start, s)
    }
}

fn view(mem: &[f64], start: usize, s: Slot) -> MatRef<'_, f64> {
    let m = &mem[s.off - start..s.end() - start];
    MatRef::from_column_major_slice_with_stride(m, s.rows, s.cols, s.cs.max(1))
}

fn view_mut(mem: &mut [f64], start: usize, s: Slot) -> MatMut<'_, f64> {
    let m = &mut mem[s.off - start..s.end() - start];
    MatMut::from_column_major_slice_with_stride_mut(m, s.rows, s.cols, s.cs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned_disjoint_and_staggered_modulo_a_page() {
        let mut l = Layout::new();
        let shapes = [
            (50, 10),
            (50, 10),
            (70, 10),
            (70, 10),
            (70, 10),
            (150, 1),
            (1, 1),
        ];
        let slots: Vec<Slot> = shapes.iter().map(|&(r, c)| l.matrix(r, c)).collect();
        let block = l.build();
        let mut lines = std::collections::HashSet::new();
        for (i, s) in slots.iter().enumerate() {
            let a = block.addr(s.off);
            assert_eq!(a % 64, 0, "slot {i} at {a:#x}");
            assert!(
                lines.insert(a % 4096),
                "slot {i} shares its offset in the page"
            );
            assert_eq!(s.cs % LINE, 0);
            assert!(s.cs >= s.rows);
            if i > 0 {
                assert!(s.off >= slots[i - 1].end(), "slot {i} overlaps");
            }
        }
    }

    #[test]
    fn views_read_back_what_was_written() {
        let mut l = Layout::new();
        let (a, b) = (l.matrix(3, 2), l.matrix(13, 3));
        let mut block = l.build();
        {
            let (mut ra, mut rb) = block.region().split(b.off);
            let mut va = ra.mat_mut(a);
            va[(2, 1)] = 5.0;
            let mut vb = rb.mat_mut(b);
            vb[(12, 2)] = 7.0;
        }
        assert_eq!(block.mat(a)[(2, 1)], 5.0);
        assert_eq!(block.mat(b)[(12, 2)], 7.0);
        assert_eq!(block.mat(b)[(0, 0)], 0.0);
    }
}
