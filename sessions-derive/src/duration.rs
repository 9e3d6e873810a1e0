//! Duration literals: `"90s"`, `"10m"`, `"2h"`, `"14d"`, or an unsuffixed integer number of seconds.

use quote::ToTokens as _;
use syn::{Expr, Lit};

/// Help appended to every message about a bad duration.
const FORMAT: &str = "write a number followed by `s`, `m`, `h` or `d`, like \"90s\", \"10m\", \"2h\" or \"14d\", or an integer number of seconds";

/// A duration in whole seconds, at least one.
pub(crate) fn parse(expr: &Expr) -> syn::Result<u64> {
    let Expr::Lit(literal) = expr else {
        return Err(syn::Error::new_spanned(
            expr,
            format!("a duration is a literal, worked out when the code compiles; {FORMAT}"),
        ));
    };
    let lit = &literal.lit;
    let seconds = match lit {
        Lit::Str(text) if !text.suffix().is_empty() => {
            return Err(syn::Error::new(
                text.span(),
                format!(
                    "unexpected `{}` after the duration; write \"{}\"",
                    text.suffix(),
                    text.value()
                ),
            ));
        }
        Lit::Str(text) => {
            parse_text(&text.value()).map_err(|message| syn::Error::new(text.span(), message))?
        }
        // `14d` is the integer 14 with a suffix the compiler ignores: it would mean 14 seconds.
        Lit::Int(int) if !int.suffix().is_empty() => {
            let digits = int.base10_digits();
            let suffix = int.suffix();
            let fix = if parse_text(&format!("{digits}{suffix}")).is_ok() {
                format!("write `\"{digits}{suffix}\"`, in quotes")
            } else {
                format!("write `\"{digits}s\"`, or `{digits}` alone for seconds")
            };
            return Err(syn::Error::new(
                int.span(),
                format!(
                    "`{}` is not a duration: an unquoted number is read as seconds and its suffix `{suffix}` is dropped; {fix}",
                    lit.to_token_stream()
                ),
            ));
        }
        Lit::Int(int) => int
            .base10_parse::<u64>()
            .map_err(|_| syn::Error::new(int.span(), format!("invalid duration; {FORMAT}")))?,
        other => {
            return Err(syn::Error::new(
                other.span(),
                format!("expected a duration; {FORMAT}"),
            ));
        }
    };
    if seconds == 0 {
        return Err(syn::Error::new(
            lit.span(),
            "a duration of zero would expire at once; use at least \"1s\"",
        ));
    }
    Ok(seconds)
}

fn parse_text(text: &str) -> Result<u64, String> {
    let invalid = || format!("invalid duration `{text}`; {FORMAT}");
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(unit_seconds)
        .ok_or_else(|| format!("duration `{text}` is too long"))
}

/// Formats seconds back in the largest whole unit, for messages.
pub(crate) fn display(seconds: u64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_failures() {
        assert_eq!(parse_text("90s"), Ok(90));
        assert_eq!(parse_text("10m"), Ok(600));
        assert_eq!(parse_text("2h"), Ok(7200));
        assert_eq!(parse_text("14d"), Ok(1_209_600));
        for bad in ["", "10", "m", "1.5h", "10 m", "-1s", "10ms", "1w"] {
            assert!(parse_text(bad).is_err(), "{bad:?}");
        }
        assert!(parse_text("99999999999999999d").unwrap_err().contains("too long"));
        assert_eq!(display(1_209_600), "14d");
        assert_eq!(display(5400), "90m");
        assert_eq!(display(61), "61s");
    }

    #[test]
    fn only_quoted_durations_and_bare_integers_are_read() {
        let read = |source: &str| parse(&syn::parse_str::<Expr>(source).unwrap());
        assert_eq!(read("\"14d\"").unwrap(), 1_209_600);
        assert_eq!(read("3600").unwrap(), 3600);
        assert_eq!(read("1_000").unwrap(), 1000);
        // A suffix on an integer is dropped by the compiler: `14d` would mean 14 seconds.
        for source in [
            "14d", "2h", "10m", "90s", "3600u64", "1w", "\"10m\"s", "60 * 60", "-5", "1.5", "SECONDS",
        ] {
            assert!(read(source).is_err(), "{source}");
        }
        assert!(read("14d").unwrap_err().to_string().contains("write `\"14d\"`"));
        assert!(read("3600u64").unwrap_err().to_string().contains("`3600` alone"));
    }
}
