//! Money, prices, quantities and times as people read them (pure).
//!
//! Prices travel as ticks of a symbol's tick size; cash as cents. The CLI and the
//! dashboard both use these, so they read alike: `$1,234.50`, `1,010` shares, and the
//! same refusal for a price that is not a whole number of ticks.

use qraft_node::core::types::{Cents, Ticker, Ticks, format_cents, parse_cents};

/// Cents as dollars with separators and no sign symbol: `1,234.50`, `-0.07`.
pub fn money(cents: i128) -> String {
    format_cents(cents)
}

/// Dollars for people: `$1,234.50`, `-$0.07`.
pub fn usd(cents: i128) -> String {
    let text = format_cents(cents);
    match text.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${text}"),
    }
}

/// A signed amount with an explicit sign: `+$12.00`, `-$0.07`, `$0.00`.
pub fn signed_usd(cents: i128) -> String {
    if cents > 0 {
        format!("+{}", usd(cents))
    } else {
        usd(cents)
    }
}

/// A whole number with thousands separators: `1,010`.
pub fn count(n: i128) -> String {
    let text = format_cents(n * 100);
    text.trim_end_matches(".00").to_string()
}

/// Ticks of `tick_size` cents, in cents.
pub fn cents(ticks: Ticks, tick_size: Cents) -> i128 {
    ticks as i128 * tick_size.max(1) as i128
}

/// A price without the dollar sign, `12.50` (separators above 999).
pub fn price(ticks: Ticks, tick_size: Cents) -> String {
    money(cents(ticks, tick_size))
}

/// A price with the dollar sign, `$12.50`.
pub fn price_usd(ticks: Ticks, tick_size: Cents) -> String {
    usd(cents(ticks, tick_size))
}

/// A change in price with its sign, `+0.50`, `-1.25`, `0.00`.
pub fn change(delta_cents: i128) -> String {
    if delta_cents > 0 {
        format!("+{}", money(delta_cents))
    } else {
        money(delta_cents)
    }
}

/// A percentage with two decimals and a sign, from a ratio of integers: `+4.17%`.
/// `None` when the base is zero.
pub fn percent(delta: i128, base: i128) -> Option<String> {
    if base == 0 {
        return None;
    }
    // Hundredths of a percent, rounded half away from zero.
    let scaled = delta * 10_000;
    let mut bp = scaled / base;
    let rest = (scaled % base).abs() * 2;
    if rest >= base.abs() {
        bp += if (delta < 0) != (base < 0) { -1 } else { 1 };
    }
    let sign = if bp > 0 {
        "+"
    } else if bp < 0 {
        "-"
    } else {
        ""
    };
    let abs = bp.unsigned_abs();
    Some(format!("{sign}{}.{:02}%", abs / 100, abs % 100))
}

/// Parses a price in dollars (`12.50`, `$12.5`, `1,012`) into ticks of `tick_size` cents,
/// refusing one that is not a whole number of ticks (the CLI's wording).
pub fn parse_price(text: &str, symbol: Ticker, tick_size: Cents) -> Result<Ticks, String> {
    let cents = parse_cents(text).ok_or_else(|| {
        format!("{text:?} is not a price: write dollars and cents, like 12.50 or $12.50")
    })?;
    if cents <= 0 {
        return Err(format!("the price must be above zero (got {text})"));
    }
    let tick = tick_size.max(1);
    if cents % tick != 0 {
        let below = cents - cents % tick;
        let above = below + tick;
        let nearest = if below > 0 {
            format!("{} or {}", usd(below as i128), usd(above as i128))
        } else {
            usd(above as i128)
        };
        return Err(format!(
            "{} is not a whole number of {symbol}'s ticks ({} each): try {nearest}",
            usd(cents as i128),
            usd(tick as i128)
        ));
    }
    Ok((cents / tick) as Ticks)
}

/// Dollars with two decimals and no separators or sign symbol, as the JSON output
/// writes them: `"1234.50"`, `"-0.07"`.
pub fn dollars(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a time in milliseconds since the Unix epoch.
pub fn date_time(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {}", clock(ms, 0))
}

/// `HH:MM:SS` of a time in milliseconds since the Unix epoch, shifted by `offset_ms` (the
/// local time zone's offset from UTC; the CLI's UTC times are `clock(ms, 0)`).
pub fn clock(ms: u64, offset_ms: i64) -> String {
    let local = ms.saturating_add_signed(offset_ms);
    let secs = local / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A short duration: `850ms`, `1.2s`, `2m05s`.
pub fn duration_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    #[test]
    fn money_and_counts_read_like_the_cli() {
        assert_eq!(usd(123_450), "$1,234.50");
        assert_eq!(usd(-7), "-$0.07");
        assert_eq!(signed_usd(1200), "+$12.00");
        assert_eq!(signed_usd(0), "$0.00");
        assert_eq!(count(1010), "1,010");
        assert_eq!(count(0), "0");
        assert_eq!(price(1250, 1), "12.50");
        assert_eq!(price(251, 5), "12.55");
        assert_eq!(price_usd(100_000, 1), "$1,000.00");
        assert_eq!(change(50), "+0.50");
        assert_eq!(change(-125), "-1.25");
        assert_eq!(change(0), "0.00");
    }

    #[test]
    fn percentages_round_and_sign() {
        assert_eq!(percent(50, 1200).as_deref(), Some("+4.17%"));
        assert_eq!(percent(-50, 1200).as_deref(), Some("-4.17%"));
        assert_eq!(percent(0, 1200).as_deref(), Some("0.00%"));
        assert_eq!(percent(1, 3).as_deref(), Some("+33.33%"));
        assert_eq!(percent(2, 3).as_deref(), Some("+66.67%"));
        assert_eq!(percent(5, 0), None);
    }

    #[test]
    fn prices_parse_into_ticks_or_say_why_not() {
        assert_eq!(parse_price("12.50", acme(), 1), Ok(1250));
        assert_eq!(parse_price("$12.5", acme(), 1), Ok(1250));
        assert_eq!(parse_price("12", acme(), 1), Ok(1200));
        assert_eq!(parse_price("1,012.05", acme(), 1), Ok(101_205));
        assert_eq!(parse_price("12.50", acme(), 5), Ok(250));
        assert_eq!(parse_price("12.55", acme(), 5), Ok(251));
        assert_eq!(parse_price("$12.55", acme(), 5), Ok(251));
        assert_eq!(
            parse_price("12.53", acme(), 5).unwrap_err(),
            "$12.53 is not a whole number of ACME's ticks ($0.05 each): try $12.50 or $12.55"
        );
        let err = parse_price("0.03", acme(), 5).unwrap_err();
        assert!(err.ends_with("try $0.05"), "{err}");
        assert!(
            parse_price("0", acme(), 1)
                .unwrap_err()
                .contains("above zero")
        );
        assert!(
            parse_price("-1", acme(), 1)
                .unwrap_err()
                .contains("above zero")
        );
        assert!(
            parse_price("12.505", acme(), 1)
                .unwrap_err()
                .contains("not a price")
        );
        assert!(
            parse_price("abc", acme(), 1)
                .unwrap_err()
                .contains("not a price")
        );
    }

    #[test]
    fn json_dollars_and_dates() {
        assert_eq!(dollars(1250), "12.50");
        assert_eq!(dollars(-7), "-0.07");
        assert_eq!(dollars(123_456_789), "1234567.89");
        assert_eq!(dollars(0), "0.00");
        assert_eq!(usd(123_456_789), "$1,234,567.89");
        assert_eq!(usd(-7), "-$0.07");
        assert_eq!(count(1010), "1,010");
        assert_eq!(count(-5), "-5");
        assert_eq!(clock(0, 0), "00:00:00");
        assert_eq!(date_time(0), "1970-01-01 00:00:00");
        assert_eq!(date_time(1_709_210_096_000), "2024-02-29 12:34:56");
        // 2026-12-07 14:43:21 UTC, and the last second of a leap year.
        assert_eq!(date_time(1_796_654_601_000), "2026-12-07 14:43:21");
        assert_eq!(date_time(1_735_689_599_000), "2024-12-31 23:59:59");
    }

    #[test]
    fn clocks_and_durations() {
        assert_eq!(clock(3_723_000, 0), "01:02:03");
        assert_eq!(clock(3_723_000, 3_600_000), "02:02:03");
        assert_eq!(clock(1_000, -3_600_000), "00:00:00");
        assert_eq!(clock(u64::MAX, 0), "14:25:51");
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(1_250), "1.2s");
        assert_eq!(duration_ms(125_000), "2m05s");
    }
}
