//! Reading back the non-finite numbers that the writers store as JSON `null`.
//!
//! JSON has no NaN or infinity, so serde_json writes them as `null`: result.json holds `null`
//! where a metric is undefined (NC1 of a layer whose class means coincide) or overflowed (a
//! diverged run's gradient norm, the standard deviation of losses near 1e280 in summary.json).
//! The typed readers (`ufm plot`, `ufm merge`, the bindings' result parsers) must still read
//! such files: every `f64` field a writer may leave non-finite is tagged
//! `#[serde(deserialize_with = ...)]` with one of these, which read `null` as NaN. Which
//! non-finite value was written is lost, as it already is in the file.

use serde::{Deserialize, Deserializer};

/// An `f64` that may be `null` (read as NaN).
pub fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A list of `f64` whose entries may be `null` (read as NaN).
pub fn vec_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v = Vec::<Option<f64>>::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// Rows of `f64` whose entries may be `null` (read as NaN).
pub fn rows_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let v = Vec::<Vec<Option<f64>>>::deserialize(d)?;
    Ok(v.into_iter()
        .map(|row| row.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
        .collect())
}

/// A pair of `f64` (an interval) whose ends may be `null` (read as NaN).
pub fn pair_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
    let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
    Ok([a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)])
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::f64_or_nan")]
        x: f64,
        #[serde(deserialize_with = "super::vec_or_nan")]
        v: Vec<f64>,
        #[serde(deserialize_with = "super::rows_or_nan")]
        m: Vec<Vec<f64>>,
        #[serde(deserialize_with = "super::pair_or_nan")]
        p: [f64; 2],
    }

    /// What serde_json writes for non-finite values reads back as NaN; finite values are
    /// unchanged (bit for bit: serde_json's float round trip is exact).
    #[test]
    fn null_reads_as_nan_and_numbers_round_trip() {
        let written = serde_json::json!({
            "x": f64::INFINITY, "v": [1.5, f64::NAN], "m": [[f64::NEG_INFINITY, 0.1]],
            "p": [0.25, f64::NAN]
        })
        .to_string();
        assert!(written.contains("null"), "{written}");
        let t: T = serde_json::from_str(&written).unwrap();
        assert!(t.x.is_nan());
        assert_eq!(t.v[0], 1.5);
        assert!(t.v[1].is_nan());
        assert!(t.m[0][0].is_nan());
        assert_eq!(t.m[0][1], 0.1);
        assert_eq!(t.p[0], 0.25);
        assert!(t.p[1].is_nan());
        // A wrong type is still an error, not NaN.
        assert!(serde_json::from_str::<T>(r#"{"x":"a","v":[],"m":[],"p":[0,0]}"#).is_err());
    }
}
