//! The (K, L) regions where the paper proves DNC is not globally optimal.
//!
//! `theorem1_holds` / `theorem7_holds` evaluate the inequalities the proofs derive (B.3, B.9);
//! `theorem1_paper` / `theorem7_paper` are the regions as the theorems state them.

use serde::{Deserialize, Serialize};

/// Which theorem a region query is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theorem {
    /// Theorem 1: deep linear UFM, DNC not globally optimal.
    One,
    /// Theorem 7: deep ReLU UFM (under Assumption 1), DNC not globally optimal.
    Seven,
}

impl Theorem {
    /// "1" or "7".
    pub fn parse(s: &str) -> Result<Theorem, crate::Error> {
        match s.trim() {
            "1" => Ok(Theorem::One),
            "7" => Ok(Theorem::Seven),
            other => Err(crate::Error::argument(
                "theorem",
                format!("must be 1, 4 or 7, got {other:?}"),
            )),
        }
    }

    /// The derived condition of the theorem's proof for K classes and L layers.
    pub fn holds(self, k: usize, layers: usize) -> bool {
        match self {
            Theorem::One => theorem1_holds(k, layers),
            Theorem::Seven => theorem7_holds(k, layers),
        }
    }

    /// The region as the theorem states it.
    pub fn paper_region(self, k: usize, layers: usize) -> bool {
        match self {
            Theorem::One => theorem1_paper(k, layers),
            Theorem::Seven => theorem7_paper(k, layers),
        }
    }
}

/// B.3: the paired low-rank structure beats DNC at equal scale iff
/// `2^(2/(L+1)) < (2m - 1)/m`, m = floor(K/2) (the same inequality for even and odd K).
pub fn theorem1_holds(k: usize, layers: usize) -> bool {
    let m = (k / 2) as f64;
    if m < 1.0 || layers == 0 {
        return false;
    }
    2f64.powf(2.0 / (layers as f64 + 1.0)) < (2.0 * m - 1.0) / m
}

/// Theorem 1 as stated: K >= 4 and L >= 3, or K >= 6 and L = 2.
pub fn theorem1_paper(k: usize, layers: usize) -> bool {
    (k >= 4 && layers >= 3) || (k >= 6 && layers == 2)
}

/// B.9: the ReLU low-rank construction beats the linear DNC lower bound at equal output scale.
///
/// Even K: `((K+2)/K)^(3/(L+1)) 2^((L-3)/(L+1)) (K-1) >= K + 2`.
/// Odd K: `(K-1) 2^((L-3)/(L+1)) ((K+3)/(K+1))^(1/(L+1)) ((K+3)/K)^(2/(L+1)) >= K + 3`.
/// The construction needs a hidden ReLU layer, so L >= 2 (for L = 1 there is no ReLU and the
/// model is the plain UFM, where DNC is optimal): false for L < 2.
pub fn theorem7_holds(k: usize, layers: usize) -> bool {
    if layers < 2 || k < 2 {
        return false;
    }
    let (kf, lf) = (k as f64, layers as f64);
    let p = 1.0 / (lf + 1.0);
    let two = 2f64.powf((lf - 3.0) * p);
    if k.is_multiple_of(2) {
        ((kf + 2.0) / kf).powf(3.0 * p) * two * (kf - 1.0) >= kf + 2.0
    } else {
        (kf - 1.0) * two * ((kf + 3.0) / (kf + 1.0)).powf(p) * ((kf + 3.0) / kf).powf(2.0 * p)
            >= kf + 3.0
    }
}

/// Theorem 7 as stated: K >= 10 and L >= 5, or K >= 16 and L = 4.
pub fn theorem7_paper(k: usize, layers: usize) -> bool {
    (k >= 10 && layers >= 5) || (k >= 16 && layers == 4)
}
