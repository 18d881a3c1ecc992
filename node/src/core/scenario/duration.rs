//! Game times as people write them: `"90s"`, `"2m"`, `"1m30s"`, `"1h 15m"`.
//!
//! Whole hours, minutes and seconds only (block times are whole milliseconds, and a lesson
//! has no use for less than a second); no floats, no clock.

/// Reads a duration into milliseconds, or says what is wrong with it.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("expected a time such as \"90s\", \"2m\" or \"1m30s\"".into());
    }
    let mut total: u64 = 0;
    let mut rest = trimmed;
    let mut last_unit_rank = u8::MAX;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "{trimmed:?} is not a time: expected a number then h, m or s, as in \"1m30s\""
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{trimmed:?}: the number is too large"))?;
        rest = &rest[digits..];
        if rest.starts_with(['.', ',']) {
            return Err(format!(
                "{trimmed:?}: whole numbers only (\"1m30s\" for a minute and a half)"
            ));
        }
        rest = rest.trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let (rank, ms_per_unit) = match unit {
            "h" | "hr" | "hour" | "hours" => (2u8, 3_600_000u64),
            "m" | "min" | "mins" | "minute" | "minutes" => (1, 60_000),
            "s" | "sec" | "secs" | "second" | "seconds" => (0, 1_000),
            "" => {
                return Err(format!(
                    "{trimmed:?}: say which unit: h, m or s (\"{number}s\" for seconds)"
                ));
            }
            other => {
                return Err(format!(
                    "{trimmed:?}: unknown unit {other:?}; use h, m or s"
                ));
            }
        };
        if rank >= last_unit_rank {
            return Err(format!(
                "{trimmed:?}: write hours, then minutes, then seconds, each once"
            ));
        }
        last_unit_rank = rank;
        total = number
            .checked_mul(ms_per_unit)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("{trimmed:?} is too long"))?;
    }
    Ok(total)
}

/// Writes milliseconds the way [`parse_duration`] reads them (`"1m30s"`, `"0s"`); whole
/// seconds (anything less is dropped).
pub fn format_duration(ms: u64) -> String {
    let seconds = ms / 1_000;
    let (h, m, s) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("2m"), Ok(120_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("1h 15m"), Ok(4_500_000));
        assert_eq!(parse_duration(" 0s "), Ok(0));
        assert_eq!(parse_duration("3 minutes"), Ok(180_000));
    }

    #[test]
    fn refuses_what_is_not_a_time_and_says_why() {
        assert!(parse_duration("").unwrap_err().contains("expected a time"));
        assert!(parse_duration("90").unwrap_err().contains("say which unit"));
        assert!(parse_duration("2d").unwrap_err().contains("unknown unit"));
        assert!(
            parse_duration("30s 1m")
                .unwrap_err()
                .contains("hours, then minutes")
        );
        assert!(
            parse_duration("1.5m")
                .unwrap_err()
                .contains("whole numbers")
        );
        assert!(parse_duration("m").unwrap_err().contains("not a time"));
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn writes_what_it_reads() {
        for ms in [0, 1_000, 59_000, 60_000, 90_000, 3_600_000, 4_530_000] {
            assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
        }
        assert_eq!(format_duration(90_000), "1m30s");
    }
}
