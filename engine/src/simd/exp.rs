//! Deterministic, vectorised `exp` and `ln` for the softmax and log-sum-exp of the fit.
//!
//! Why not libm: glibc's `exp` is scalar (~15 ns a call here, 500 calls per Figure-1 step), is
//! entered with legacy-SSE instructions (slow after foreign AVX code on Intel, see
//! `crate::linalg`), and picks an FMA or non-FMA variant by CPU, so its bits may differ
//! between machines. These versions run 8 (AVX-512) or 4 (AVX2) lanes at a time and give the same
//! bits at every level and on every CPU: each lane does the same IEEE operations in the same
//! order (FMA everywhere; the scalar build's `f64::mul_add` is the correctly rounded `fma`), and
//! the vector builds are the same Rust loop compiled with wider target features (Rust never
//! contracts or reassociates floating-point operations on its own, so the vectoriser cannot
//! change a result). Accuracy: within 1 ulp of the correctly rounded value (tested against
//! libm over the whole double range, the underflow region included).

use super::dispatch::{level, run_at, Level};

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// 1.5 * 2^52: adding it rounds a double of magnitude < 2^51 to an integer (ties to even) and
/// leaves that integer in the low mantissa bits.
const SHIFT: f64 = 6755399441055744.0;
const SHIFT_BITS: u64 = 0x4338_0000_0000_0000;
/// ln 2 split so that n * LN2_HI is exact for |n| < 2^11 (Cody-Waite; fdlibm's constants,
/// 6.93147180369123816490e-01 and 1.90821492927058770002e-10).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Below this exp underflows to 0 (exp(-745.14) is half the smallest subnormal); above MAX_ARG
/// it overflows. Clamping keeps the exponent arithmetic in range; the results stay 0 and inf.
const MIN_ARG: f64 = -746.0;
const MAX_ARG: f64 = 710.0;

/// 1/k! for k = 0..=13: the Taylor series of exp on |r| <= ln(2)/2, truncated where the next
/// term (0.347^14/14! = 4e-18) is far below half an ulp of 1.
const INV_FACT: [f64; 14] = {
    let mut c = [1.0; 14];
    let mut k = 1;
    while k < 14 {
        c[k] = c[k - 1] / k as f64;
        k += 1;
    }
    c
};

/// exp of one lane. x = n ln2 + r with n = round(x / ln2), exp(r) by a degree-13 Horner
/// polynomial in FMAs, then scaled by 2^n as 2^n1 * 2^n2 (n1 = round(n/2)) so that results in
/// the subnormal range are rounded once, at the last multiplication.
#[inline(always)]
fn exp_lane(x: f64) -> f64 {
    // NaN passes both comparisons unchanged and propagates through the arithmetic.
    let x = if x < MIN_ARG { MIN_ARG } else { x };
    let x = if x > MAX_ARG { MAX_ARG } else { x };
    let t = x.mul_add(LOG2E, SHIFT);
    let n = t - SHIFT;
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let mut p = INV_FACT[13];
    let mut k = 13;
    while k > 0 {
        k -= 1;
        p = p.mul_add(r, INV_FACT[k]);
    }
    let t1 = n.mul_add(0.5, SHIFT);
    let n1 = t1.to_bits().wrapping_sub(SHIFT_BITS);
    let n2 = t.to_bits().wrapping_sub(t1.to_bits());
    let s1 = f64::from_bits(n1.wrapping_add(1023) << 52);
    let s2 = f64::from_bits(n2.wrapping_add(1023) << 52);
    (p * s1) * s2
}

const TWO54: f64 = 18014398509481984.0;
/// The bits of sqrt(2)/2: mantissas are normalised into [sqrt(2)/2, sqrt(2)).
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
const MANT_MASK: u64 = 0x000f_ffff_ffff_ffff;
// fdlibm's minimax coefficients (Lg1..Lg7, given as bits) for log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
const LG: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593),
    f64::from_bits(0x3fd9_9999_9997_fa04),
    f64::from_bits(0x3fd2_4924_9422_9359),
    f64::from_bits(0x3fcc_71c5_1d8e_78af),
    f64::from_bits(0x3fc7_4664_96cb_03de),
    f64::from_bits(0x3fc3_9a09_d078_c69f),
    f64::from_bits(0x3fc2_f112_df3e_5244),
];

/// ln of one lane (fdlibm's algorithm, with FMAs in fixed places). Subnormal inputs are scaled
/// by 2^54 first; 0 gives -inf, negatives and NaN give NaN, +inf gives +inf.
#[inline(always)]
fn ln_lane(x: f64) -> f64 {
    let tiny = x < f64::MIN_POSITIVE;
    let xs = if tiny { x * TWO54 } else { x };
    let ix = xs
        .to_bits()
        .wrapping_add(0x3ff0_0000_0000_0000 - SQRT_HALF_BITS);
    let k_biased = ix >> 52;
    let m = f64::from_bits((ix & MANT_MASK).wrapping_add(SQRT_HALF_BITS));
    let adjust = if tiny { 54.0 } else { 0.0 };
    let dk = ((f64::from_bits(SHIFT_BITS.wrapping_add(k_biased)) - SHIFT) - 1023.0) - adjust;
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = LG[6];
    let mut i = 6;
    while i > 0 {
        i -= 1;
        r = r.mul_add(z, LG[i]);
    }
    let r = r * z;
    let v = dk.mul_add(LN2_HI, -((hfsq - s.mul_add(hfsq + r, dk * LN2_LO)) - f));
    let v = if x > f64::MAX { x } else { v };
    let v = if x == 0.0 { f64::NEG_INFINITY } else { v };
    let v = if x < 0.0 { f64::NAN } else { v };
    #[allow(clippy::eq_op)]
    let nan = x != x;
    if nan {
        x
    } else {
        v
    }
}

/// x <- exp(x) for every entry, at the engine's dispatch level.
pub fn exp_in_place(xs: &mut [f64]) {
    exp_in_place_at(level(), xs)
}

/// x <- exp(x) for every entry, compiled for `level` (same bits at every level).
pub fn exp_in_place_at(level: Level, xs: &mut [f64]) {
    run_at(
        level,
        #[inline(always)]
        || {
            for x in xs.iter_mut() {
                *x = exp_lane(*x);
            }
        },
    )
}

/// x <- ln(x) for every entry, at the engine's dispatch level.
pub fn ln_in_place(xs: &mut [f64]) {
    ln_in_place_at(level(), xs)
}

/// x <- ln(x) for every entry, compiled for `level` (same bits at every level).
pub fn ln_in_place_at(level: Level, xs: &mut [f64]) {
    run_at(
        level,
        #[inline(always)]
        || {
            for x in xs.iter_mut() {
                *x = ln_lane(*x);
            }
        },
    )
}

/// exp of one value (the same bits as [`exp_in_place`]).
pub fn exp(x: f64) -> f64 {
    let mut a = [x];
    exp_in_place(&mut a);
    a[0]
}

/// ln of one value (the same bits as [`ln_in_place`]).
pub fn ln(x: f64) -> f64 {
    let mut a = [x];
    ln_in_place(&mut a);
    a[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite doubles of the same sign (for
    /// subnormals this is in units of the smallest subnormal, the spacing there).
    fn ulps(a: f64, b: f64) -> u64 {
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Deterministic inputs: a fine grid plus pseudo-random points from a fixed LCG.
    fn grid(lo: f64, hi: f64, count: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..=count)
            .map(|i| lo + (hi - lo) * i as f64 / count as f64)
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..count {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            v.push(lo + (hi - lo) * u);
        }
        v
    }

    fn check_exp(xs: &[f64]) -> (u64, usize) {
        let mut got = xs.to_vec();
        exp_in_place(&mut got);
        let (mut worst, mut differ) = (0, 0);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = x.exp();
            let u = ulps(g, want);
            differ += (u > 0) as usize;
            assert!(u <= 1, "exp({x:e}) = {g:e}, libm {want:e} ({u} ulp)");
            worst = worst.max(u);
        }
        (worst, differ)
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm_over_the_whole_range() {
        // The fit calls exp(z - max z) <= 0; very negative arguments are common late in training
        // (confident logits), so the underflow region is checked as densely as the rest.
        // glibc's exp is correctly rounded in practice (< 0.502 ulp) and ours is < 1 ulp, so a
        // difference of 2 ulps or more would be an error of ours.
        let (w1, d1) = check_exp(&grid(-40.0, 0.0, 400_000));
        let (w2, _) = check_exp(&grid(-708.4, 709.7, 400_000));
        // Subnormal results (x < -708.4) and the last ones before 0 (x ~ -745.13).
        let (w3, _) = check_exp(&grid(-745.2, -708.3, 400_000));
        let (w4, _) = check_exp(&grid(-1e-8, 1e-8, 10_000));
        assert!(w1.max(w2).max(w3).max(w4) <= 1);
        // Most results are the correctly rounded ones; a sizeable share of 1-ulp differences
        // would mean a systematic error well beyond rounding.
        // Measured: 6.1% of these points differ by 1 ulp (the polynomial and the final scaling
        // round twice where a correctly rounded exp rounds once).
        assert!(
            d1 < 800_001 / 10,
            "{d1} of 800001 differ from libm by 1 ulp"
        );
        for (x, want) in [
            (0.0, 1.0),
            (-0.0, 1.0),
            (f64::NEG_INFINITY, 0.0),
            (-745.2, 0.0),
            (-1e300, 0.0),
            (f64::INFINITY, f64::INFINITY),
            (709.8, f64::INFINITY),
            (1e300, f64::INFINITY),
        ] {
            assert_eq!(exp(x).to_bits(), want.to_bits(), "exp({x})");
        }
        assert!(exp(f64::NAN).is_nan());
        // The smallest subnormal and its neighbours.
        assert_eq!(exp(-745.1).to_bits(), (-745.1f64).exp().to_bits());
        assert_eq!(exp(-744.44).to_bits(), (-744.44f64).exp().to_bits());
    }

    #[test]
    fn ln_is_within_one_ulp_of_libm_over_the_whole_range() {
        // The fit takes ln of sums of exponentials in [1, K]; the whole positive range is
        // checked (log-spaced, subnormals included) since the function is public.
        let mut xs = grid(1.0, 1000.0, 400_000);
        xs.extend(grid(0.5, 2.0, 200_000));
        xs.extend(grid(-1074.0, 1023.9, 400_000).into_iter().map(f64::exp2));
        let mut got = xs.clone();
        ln_in_place(&mut got);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = x.ln();
            if want == 0.0 {
                assert_eq!(g, 0.0, "ln({x:e})");
                continue;
            }
            let u = ulps(g, want);
            assert!(u <= 1, "ln({x:e}) = {g:e}, libm {want:e} ({u} ulp)");
        }
        for (x, want) in [
            (1.0, 0.0),
            (0.0, f64::NEG_INFINITY),
            (f64::INFINITY, f64::INFINITY),
        ] {
            assert_eq!(ln(x).to_bits(), want.to_bits(), "ln({x})");
        }
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan() && ln(f64::NEG_INFINITY).is_nan());
        assert_eq!(ln(f64::MAX).to_bits(), f64::MAX.ln().to_bits());
    }

    #[test]
    fn every_dispatch_level_gives_the_same_bits() {
        // Each supported level runs a differently compiled loop (baseline with libm fma calls,
        // AVX2 4-wide, AVX-512 8-wide, each with a scalar remainder): identical bits are the
        // determinism contract across machines. The lengths are odd so remainders run too.
        let mut xs = grid(-760.0, 720.0, 100_001);
        xs.extend([
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
        ]);
        let mut pos: Vec<f64> = xs.iter().map(|x| x.abs() * 1e-3).collect();
        pos.extend(grid(-1074.0, 1023.0, 20_001).into_iter().map(f64::exp2));
        let levels: Vec<Level> = Level::ALL.into_iter().filter(|l| l.supported()).collect();
        let (mut e0, mut l0) = (xs.clone(), pos.clone());
        exp_in_place_at(Level::Scalar, &mut e0);
        ln_in_place_at(Level::Scalar, &mut l0);
        for &lv in &levels[1..] {
            let (mut e, mut l) = (xs.clone(), pos.clone());
            exp_in_place_at(lv, &mut e);
            ln_in_place_at(lv, &mut l);
            for i in 0..xs.len() {
                assert_eq!(e[i].to_bits(), e0[i].to_bits(), "{lv:?} exp({:e})", xs[i]);
            }
            for i in 0..pos.len() {
                assert_eq!(l[i].to_bits(), l0[i].to_bits(), "{lv:?} ln({:e})", pos[i]);
            }
        }
        eprintln!("levels compared: {levels:?}");
    }
}
