//! Money and returns as plain numbers a spreadsheet reads: `1234.56`, `-0.07`, `12.34`.

/// Hundredths as a plain decimal with two places and no separators: cents as dollars
/// (`123456` → `1234.56`), basis points as percent (`-7` → `-0.07`).
pub fn hundredths(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Cents as dollars, `1234.56`.
pub fn dollars(cents: i64) -> String {
    hundredths(cents)
}

/// A price in ticks of `tick_size` cents, as dollars.
pub fn price(ticks: u64, tick_size: i64) -> String {
    let cents = (ticks as i128 * tick_size.max(1) as i128).clamp(0, i64::MAX as i128) as i64;
    dollars(cents)
}

/// Basis points as percent, `12.34`.
pub fn percent(bps: i64) -> String {
    hundredths(bps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_two_place_decimals() {
        assert_eq!(dollars(123_456), "1234.56");
        assert_eq!(dollars(-7), "-0.07");
        assert_eq!(dollars(0), "0.00");
        assert_eq!(percent(-1_250), "-12.50");
        assert_eq!(dollars(i64::MIN), "-92233720368547758.08");
        assert_eq!(price(1_234, 1), "12.34");
    }
}
