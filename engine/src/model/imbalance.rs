/// Class sizes of an (R, rho)-STEP imbalance (paper, appendix A): round((1 - rho) K) majority
/// classes of size R * n_min first, then the minority classes of size n_min.
///
/// Errors name the argument: `rho` must leave at least one class of each kind, and R * n_min must
/// be a whole number (the paper's definition has integer class sizes).
pub fn step_class_sizes(
    classes: usize,
    ratio: f64,
    rho: f64,
    n_min: usize,
) -> Result<Vec<usize>, crate::Error> {
    use crate::Error;
    if classes < 2 {
        return Err(Error::argument(
            "classes",
            format!("must be >= 2, got {classes}"),
        ));
    }
    if !(ratio.is_finite() && ratio >= 1.0) {
        return Err(Error::argument(
            "ratio",
            format!("must be >= 1, got {ratio}"),
        ));
    }
    if !(rho > 0.0 && rho < 1.0) {
        return Err(Error::argument(
            "rho",
            format!("must be in (0, 1), got {rho}"),
        ));
    }
    if n_min == 0 {
        return Err(Error::argument("n_min", "must be >= 1, got 0"));
    }
    let minority = (rho * classes as f64).round() as usize;
    if minority == 0 || minority == classes {
        return Err(Error::argument(
            "rho",
            format!(
                "rho * classes must round to between 1 and {} minority classes, got {minority}",
                classes - 1
            ),
        ));
    }
    let major = ratio * n_min as f64;
    if (major - major.round()).abs() > 1e-9 {
        return Err(Error::argument(
            "ratio",
            format!("ratio * n_min must be a whole number, got {major}"),
        ));
    }
    let major = major.round() as usize;
    let mut sizes = vec![major; classes - minority];
    sizes.extend(std::iter::repeat_n(n_min, minority));
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_sizes_follow_the_definition() {
        assert_eq!(
            step_class_sizes(10, 10.0, 0.5, 5).unwrap(),
            [50, 50, 50, 50, 50, 5, 5, 5, 5, 5]
        );
        assert_eq!(step_class_sizes(4, 2.0, 0.25, 3).unwrap(), [6, 6, 6, 3]);
    }

    /// The name of the argument an error blames (the kind, not the message, carries it).
    fn blamed(e: crate::Error) -> String {
        match e {
            crate::Error::Argument { name, .. } => name,
            other => panic!("expected an Argument error, got {other:?}"),
        }
    }

    #[test]
    fn step_sizes_reject_bad_arguments_by_name() {
        assert_eq!(
            blamed(step_class_sizes(10, 0.5, 0.5, 5).unwrap_err()),
            "ratio"
        );
        assert_eq!(
            blamed(step_class_sizes(10, 2.0, 1.0, 5).unwrap_err()),
            "rho"
        );
        assert_eq!(blamed(step_class_sizes(3, 2.0, 0.1, 5).unwrap_err()), "rho");
        assert_eq!(
            blamed(step_class_sizes(4, 1.5, 0.5, 3).unwrap_err()),
            "ratio"
        );
        assert!(step_class_sizes(4, 1.5, 0.5, 3)
            .unwrap_err()
            .to_string()
            .starts_with("ratio: "));
    }
}
