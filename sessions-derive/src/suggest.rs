//! "Did you mean" for a misspelled option: the same word in another case or with `-` for `_`, a
//! near spelling, or a name the option goes by elsewhere (`ttl`, `expires`).

/// What other libraries and the cookie spec call our options.
const ALIASES: &[(&str, &str)] = &[
    ("name", "cookie"),
    ("cookie_name", "cookie"),
    ("ttl", "max_age"),
    ("expires", "max_age"),
    ("expiry", "max_age"),
    ("lifetime", "max_age"),
    ("timeout", "idle_timeout"),
    ("idle", "idle_timeout"),
    ("inactivity_timeout", "idle_timeout"),
    ("sign", "signed"),
    ("rename_as", "rename"),
    ("stored_as", "rename"),
];

/// The option among `known` that `written` most likely meant, if one is close.
pub(crate) fn closest<'a>(written: &str, known: &[&'a str]) -> Option<&'a str> {
    let normalized = written.to_ascii_lowercase().replace('-', "_");
    if let Some(&exact) = known.iter().find(|&&option| option == normalized) {
        return Some(exact);
    }
    if let Some(&(_, meant)) = ALIASES.iter().find(|(alias, _)| *alias == normalized)
        && let Some(&option) = known.iter().find(|&&option| option == meant)
    {
        return Some(option);
    }
    // One edit in a short word, two in a longer one: `samesite`, `max_agee`, `htponly`.
    let allowed = if normalized.len() <= 5 { 1 } else { 2 };
    known
        .iter()
        .map(|&option| (strsim::damerau_levenshtein(&normalized, option), option))
        .filter(|&(distance, _)| distance <= allowed)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, option)| option)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[&str] = &[
        "cookie",
        "max_age",
        "idle_timeout",
        "http_only",
        "same_site",
        "secure",
    ];

    #[test]
    fn near_misses_find_their_option() {
        for (written, meant) in [
            ("max_agee", "max_age"),
            ("max-age", "max_age"),
            ("MaxAge", "max_age"),
            ("maxage", "max_age"),
            ("samesite", "same_site"),
            ("SameSite", "same_site"),
            ("http-only", "http_only"),
            ("httponly", "http_only"),
            ("HttpOnly", "http_only"),
            ("secur", "secure"),
            ("ttl", "max_age"),
            ("name", "cookie"),
            ("idle_timout", "idle_timeout"),
        ] {
            assert_eq!(closest(written, OPTIONS), Some(meant), "{written}");
        }
    }

    #[test]
    fn far_words_get_no_suggestion() {
        for written in ["color", "xyz", "domain_name", "rename"] {
            assert_eq!(closest(written, OPTIONS), None, "{written}");
        }
    }
}
