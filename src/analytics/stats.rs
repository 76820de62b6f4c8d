//! The statistics of `spec/analytics.md`: Wilson score intervals, the two-proportion z-test,
//! the Benjamini–Hochberg correction and the median.

/// The two-sided 95 % normal quantile the spec fixes.
pub const Z95: f64 = 1.959963984540054;

/// `k / n`, or `None` when `n` is 0.
pub fn rate(k: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| k as f64 / n as f64)
}

/// The 95 % Wilson score interval of `k` successes in `n` trials (`None` when `n` is 0).
///
/// centre = (p + z²/2n) / (1 + z²/n), half width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n);
/// the SQL in `queries/` writes the same formula in the same order.
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// A two-proportion z-test of `x1/n1` (before) against `x2/n2` (after), pooled variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZTest {
    /// (x2/n2 − x1/n1) / standard error.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// The test, or `None` when it is undefined (an empty side, or a pooled rate of 0 or 1).
pub fn z_test(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<ZTest> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 || !se.is_finite() {
        return None;
    }
    let z = (x2 as f64 / n2f - x1 as f64 / n1f) / se;
    let p = libm::erfc(z.abs() / std::f64::consts::SQRT_2);
    Some(ZTest { z, p: p.min(1.0) })
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`.
///
/// Sort ascending, q₍ᵢ₎ = min over j ≥ i of p₍ⱼ₎·m/j, capped at 1. Ties keep input order, so the
/// result is deterministic.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut q = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adjusted = p[i] * m as f64 / (rank + 1) as f64;
        running = running.min(adjusted);
        q[i] = running;
    }
    q
}

/// The median of `values` (the mean of the two middle ones for an even count); sorts in place.
pub fn median(values: &mut [u32]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn wilson_by_hand() {
        // k = 8, n = 10: p = 0.8, z² = 3.841458820694124, denom = 1.3841458820694124,
        // centre = (0.8 + 0.1920729410347062) / denom, half = z·√(0.016 + 0.0096036470517353) /
        // denom; reference values computed independently in Python.
        let (lo, hi) = wilson(8, 10).unwrap();
        assert!(close(lo, 0.49016247153664183), "{lo}");
        assert!(close(hi, 0.9433178485456247), "{hi}");
        // All successes: the upper bound is 1, the lower one n / (n + z²).
        let (lo, hi) = wilson(30, 30).unwrap();
        assert!(close(hi, 1.0), "{hi}");
        assert!(close(lo, 30.0 / (30.0 + Z95 * Z95)), "{lo}");
        let (lo, hi) = wilson(0, 5).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, Z95 * Z95 / (5.0 + Z95 * Z95)), "{hi}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn z_test_by_hand() {
        // 90/100 before, 75/100 after: pooled 0.825, se = √(0.825·0.175·0.02) = 0.0537354...
        // z = −0.15 / 0.0537354 = −2.79145..., p = erfc(|z|/√2) (Python's math.erfc).
        let t = z_test(90, 100, 75, 100).unwrap();
        assert!(close(t.z, -2.7914526311954124), "{}", t.z);
        assert!(close(t.p, 0.00524720373911565), "{}", t.p);
        // Identical proportions: z = 0, p = 1.
        let t = z_test(50, 100, 25, 50).unwrap();
        assert_eq!(t.z, 0.0);
        assert!(close(t.p, 1.0));
        assert_eq!(z_test(0, 0, 1, 2), None);
        assert_eq!(z_test(10, 10, 5, 5), None, "pooled rate 1 has no variance");
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // m = 5: sorted p 0.001 0.008 0.039 0.041 0.2 -> p·m/rank 0.005 0.02 0.065 0.05125 0.2,
        // then the running minimum from the top: 0.005 0.02 0.05125 0.05125 0.2.
        let p = [0.041, 0.001, 0.2, 0.008, 0.039];
        let q = benjamini_hochberg(&p);
        let want = [0.05125, 0.005, 0.2, 0.02, 0.05125];
        for (a, b) in q.iter().zip(want) {
            assert!(close(*a, b), "{q:?}");
        }
        // At FDR 5 % only the first two are significant.
        assert_eq!(q.iter().filter(|&&x| x <= 0.05).count(), 2);
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&mut [3, 1, 2]), Some(2.0));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
