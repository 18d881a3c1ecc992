//! report.csv: one row per participant (students, then bots), a header row, money as
//! dollars (`1234.56`) and returns as percent (`12.34`), for a spreadsheet.

use std::fmt::Write as _;

use super::model::Report;
use super::money::{dollars, percent};

/// The report as CSV (RFC 4180 quoting, `\n` line ends).
pub fn render(report: &Report) -> String {
    let rounds = report
        .game
        .scenario
        .as_ref()
        .map_or(0, |s| s.rounds.len())
        .max(
            report
                .participants
                .iter()
                .flat_map(|p| p.rounds.iter().map(|r| usize::from(r.round) + 1))
                .max()
                .unwrap_or(0),
        );
    let mut header: Vec<String> = [
        "rank",
        "name",
        "role",
        "start_worth",
        "net_worth",
        "profit",
        "return_pct",
        "round_rank_average",
        "trades",
        "volume",
        "commissions",
        "dividends",
        "cash",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for round in 1..=rounds {
        header.push(format!("round{round}_return_pct"));
        header.push(format!("round{round}_rank"));
    }
    let mut out = String::new();
    line(&mut out, &header);
    for p in &report.participants {
        let mut row = vec![
            p.rank.to_string(),
            text(&p.name),
            p.role.clone(),
            dollars(p.start_worth_cents),
            dollars(p.net_worth_cents),
            dollars(p.profit_cents),
            percent(p.return_bps),
            p.round_rank_average
                .map_or(String::new(), |a| percent(i64::from(a))),
            p.trades.to_string(),
            p.volume.to_string(),
            dollars(p.commissions_cents),
            dollars(p.dividends_cents),
            dollars(p.cash_cents),
        ];
        for round in 0..rounds {
            match p.rounds.iter().find(|r| usize::from(r.round) == round) {
                Some(r) => {
                    row.push(percent(r.return_bps));
                    row.push(r.rank.to_string());
                }
                None => row.extend([String::new(), String::new()]),
            }
        }
        line(&mut out, &row);
    }
    out
}

fn line(out: &mut String, fields: &[String]) {
    let quoted: Vec<String> = fields.iter().map(|f| field(f)).collect();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{}", quoted.join(","));
}

/// A field quoted when it holds a comma, quote or line break.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// A name participants chose: one a spreadsheet would take for a formula (`=`, `+`, `-`,
/// `@`, tab, carriage return first) gets a leading `'`, so it stays text.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_text_and_quoted() {
        assert_eq!(
            field(&text("=HYPERLINK(\"x\")")),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field(&text("Ada")), "Ada");
    }
}
