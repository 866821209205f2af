//! One weight decay standing for two: lambda_h on H1 and lambda_w on W_1..W_L.

/// The single lambda with the same DNC and low-rank optima as weight decay lambda_h on H1 and
/// lambda_w on W_1..W_L: lambda_eff = (lambda_h lambda_w^L)^(1/(L+1)).
///
/// Why: at a Lemma-1-aligned point every logit singular value s is a product x_0 x_1 ... x_L of
/// the matching singular values of H1, W_1, .., W_L, and
/// min { lambda_h x_0^2 + lambda_w sum_l x_l^2 : prod x = s } = (L+1) (lambda_h lambda_w^L)^(1/(L+1)) s^(2/(L+1))
/// (AM-GM on lambda_h x_0^2, lambda_w x_1^2, ..., equality when all L+1 terms are equal), which is
/// the equal-lambda value (L+1) lambda s^(2/(L+1)) with lambda = lambda_eff. The fit term only
/// sees Z, so the closed forms of theory/ hold with lambda_eff. None when exactly one of them
/// is 0 (the infimum is then the unregularised one and is not attained).
pub fn effective_lambda(lambda_h: f64, lambda_w: f64, layers: usize) -> Option<f64> {
    if lambda_h == lambda_w {
        return Some(lambda_h);
    }
    if !(lambda_h > 0.0 && lambda_w > 0.0) {
        return None;
    }
    let l = layers as f64;
    Some(((lambda_h.ln() + l * lambda_w.ln()) / (l + 1.0)).exp())
}
