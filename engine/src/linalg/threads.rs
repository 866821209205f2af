//! `train.threads`: parallelism inside one run, through faer's rayon backend.
//!
//! Why the bits do not depend on the thread count: faer 0.24 sends f64 products to
//! `private-gemm-x86`, whose parallel path splits the *output* into tiles and hands tiles to
//! threads; the reduction (inner, k) dimension is walked in blocks of min(k, 512) by an outer
//! sequential loop in every case, and each output element is accumulated by the same
//! microkernel in the same k order whichever thread owns its tile (checked bit for bit by
//! `parallel_products_match_sequential_bits` over edge-heavy shapes and every transpose
//! pattern). Matrix-vector products are different: faer's column-major matvec with
//! `Par::Rayon` splits k across threads and adds the partial sums, which changes the rounding
//! (and allocates); [`par_for`] therefore runs every product with a single output row or column
//! sequentially. The engine's own loops that run on several threads (the fused commit pass)
//! use a fixed partition that does not depend on the thread count.
//!
//! Not thread-count independent: the step loop's zero-allocation guarantee holds at
//! `threads = 1` only; faer's parallel GEMM allocates its small per-product job tables.

use faer::{MatMut, MatRef, Par};
use std::num::NonZeroUsize;

/// Largest `train.threads` accepted (a guard against typos, far above any machine's cores).
pub const MAX_THREADS: usize = 1024;

/// The faer parallelism for `threads` (1 = sequential).
pub fn par(threads: usize) -> Par {
    match NonZeroUsize::new(threads) {
        Some(n) if n.get() > 1 => Par::Rayon(n),
        _ => Par::Seq,
    }
}

/// The parallelism one product may use: `par`, except sequential for matrix-vector shapes,
/// whose parallel path in faer splits the reduction dimension (see the module docs).
#[inline]
pub fn par_for(dst: &MatMut<'_, f64>, lhs: &MatRef<'_, f64>, par: Par) -> Par {
    if matches!(par, Par::Seq) || dst.nrows() <= 1 || dst.ncols() <= 1 || lhs.ncols() <= 1 {
        Par::Seq
    } else {
        par
    }
}

/// Fewest entries a matrix needs before the engine's own element-wise loops (the optimiser
/// update, the gradient's `lambda W` and norm pass, the transposed add of W_L's gradient) split
/// it across threads: below this a rayon hand-off (a few microseconds) costs more than the
/// loop. Small enough that the thread-count bit-identity test (d = 160) runs the split loops.
pub const PAR_MIN_ENTRIES: usize = 1 << 14;

/// How many column blocks an element-wise loop over a rows x cols matrix uses at `par`: the
/// thread count when the matrix is large enough ([`PAR_MIN_ENTRIES`]) and has that many
/// columns, else 1 (run serially, allocation-free).
pub fn element_parts(par: Par, rows: usize, cols: usize) -> usize {
    match par {
        Par::Rayon(n) if n.get() > 1 && rows.saturating_mul(cols) >= PAR_MIN_ENTRIES => {
            n.get().min(cols)
        }
        _ => 1,
    }
}

/// Column j's block boundaries: `parts` contiguous ranges of near-equal width covering
/// 0..cols, the first `cols % parts` one column wider. Each column is handled whole by one
/// thread, so every entry sees the same arithmetic as in the serial loop; only which thread
/// does it changes (the bits cannot depend on the thread count).
pub fn col_blocks(cols: usize, parts: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let parts = parts.clamp(1, cols.max(1));
    let (base, extra) = (cols / parts, cols % parts);
    (0..parts).scan(0usize, move |start, p| {
        let w = base + usize::from(p < extra);
        let r = *start..*start + w;
        *start += w;
        Some(r)
    })
}
