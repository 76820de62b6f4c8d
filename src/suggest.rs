//! "Did you mean": the nearest of a few known names to one that is not known, as clap suggests
//! subcommands and values.

/// The candidate most like `word` (Jaro–Winkler similarity above 0.7, clap's bar), if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `; did you mean "country"?` or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!("; did you mean {c:?}?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn near_names_are_suggested_and_far_ones_not() {
        let dims = ["country", "device", "value_band", "currency", "reason_code"];
        assert_eq!(did_you_mean("contry", dims), Some("country"));
        assert_eq!(did_you_mean("Devise", dims), Some("device"));
        assert_eq!(did_you_mean("xyz", dims), None);
        assert_eq!(
            did_you_mean("charge", ["charges", "refunds"]),
            Some("charges")
        );
    }
}
