//! report.html: one self-contained, printable page (inline CSS and SVG, no script, nothing
//! fetched): the game, the ranking, the students' net worth over time, each symbol's
//! price with the news marked, the news and the revealed secret. Every text a person
//! chose (names, headlines, the secret) is escaped.

use std::fmt::Write as _;

use super::model::{ParticipantReport, Report};
use super::money::{dollars, percent, price};
use super::svg::{Chart, Marker, Series, elapsed, line_chart, style};

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}\
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ccc;padding-bottom:4px}\
.meta{color:#555;font-size:14px}.meta code{font-size:12px}\
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}\
th,td{border-bottom:1px solid #e2e2e2;padding:4px 6px;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}tr:nth-child(even) td{background:#fafafa}\
.neg{color:#b00020}.pos{color:#0a7a2f}\
.chart{width:100%;height:auto;max-width:760px}.axis{font-size:11px;fill:#555}\
.legend{font-size:12px;margin:4px 0 12px}.legend span{display:inline-block;margin-right:12px}\
.swatch{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}\
.secret{border:2px solid #b8860b;padding:8px 12px;background:#fffaf0;white-space:pre-wrap}\
.symbol{break-inside:avoid;page-break-inside:avoid}\
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{font-size:11px}}";

/// Text made safe for HTML and SVG: element content and quoted attributes alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The report as one HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let game = &report.game;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — end-of-game report</title><style>{STYLE}</style></head><body>\n",
        escape(&game.name)
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"meta\">End-of-game report · chain <code>{}</code> · block {} (<code>{}</code>){}</p>",
        escape(&game.name),
        escape(&game.chain_id),
        game.height,
        escape(&game.head_hash),
        if game.game_over {
            " · the game is over"
        } else {
            " · <b>the game had not ended at this block</b>"
        }
    );
    if let Some(p) = &game.previous {
        let _ = writeln!(
            out,
            "<p class=\"meta\">The class's next game: it starts from block {} (<code>{}</code>) of game <code>{}</code>, with the same class and fresh balances.</p>",
            p.height,
            escape(&p.block_hash),
            escape(&p.chain_id)
        );
    }
    if let Some(s) = &game.scenario {
        let _ = write!(
            out,
            "<p class=\"meta\">Scenario: <b>{}</b>",
            escape(&s.name)
        );
        if !s.rounds.is_empty() {
            out.push_str(" · rounds: ");
            let rounds: Vec<String> = s
                .rounds
                .iter()
                .map(|r| {
                    format!(
                        "{} ({}–{})",
                        escape(&r.name),
                        elapsed(r.opens_at_ms),
                        elapsed(r.closes_at_ms)
                    )
                })
                .collect();
            out.push_str(&rounds.join(", "));
        }
        out.push_str("</p>\n");
    }
    if let Some(secret) = &report.secret {
        let _ = writeln!(
            out,
            "<h2>The scenario's secret</h2><div class=\"secret\">{}</div><p class=\"meta\">It matches the commitment in the genesis (<code>{}</code>, salt <code>{}</code>).</p>",
            escape(&secret.text),
            escape(&secret.commitment),
            escape(&secret.salt)
        );
    }
    let students: Vec<&ParticipantReport> = report
        .participants
        .iter()
        .filter(|p| p.role == "student")
        .collect();
    let bots: Vec<&ParticipantReport> = report
        .participants
        .iter()
        .filter(|p| p.role != "student")
        .collect();
    let rounds = game.scenario.as_ref().map_or(0, |s| s.rounds.len());
    out.push_str("<h2>Ranking: students</h2>\n");
    ranking(&mut out, &students, rounds);
    if !bots.is_empty() {
        out.push_str("<h2>Ranking: bots</h2>\n");
        ranking(&mut out, &bots, rounds);
    }
    worth_chart(&mut out, report, &students);
    prices(&mut out, report);
    news(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

fn signed_class(value: i64) -> &'static str {
    match value.signum() {
        1 => "pos",
        -1 => "neg",
        _ => "",
    }
}

fn ranking(out: &mut String, rows: &[&ParticipantReport], rounds: usize) {
    out.push_str("<table><thead><tr><th>Rank</th><th class=\"l\">Name</th><th>Start</th><th>Final</th><th>Profit</th><th>Return %</th>");
    for r in 1..=rounds {
        let _ = write!(out, "<th>R{r} %</th><th>R{r} rank</th>");
    }
    out.push_str("<th>Avg round rank</th><th>Trades</th><th>Volume</th><th>Commissions</th><th>Dividends</th><th class=\"l\">Positions</th></tr></thead><tbody>\n");
    for p in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"l\">{}{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td>",
            p.rank,
            escape(&p.name),
            if p.suspended { " (suspended)" } else { "" },
            dollars(p.start_worth_cents),
            dollars(p.net_worth_cents),
            signed_class(p.profit_cents),
            dollars(p.profit_cents),
            signed_class(p.return_bps),
            percent(p.return_bps),
        );
        for round in 0..rounds {
            match p.rounds.iter().find(|r| usize::from(r.round) == round) {
                Some(r) => {
                    let _ = write!(
                        out,
                        "<td class=\"{}\">{}</td><td>{}</td>",
                        signed_class(r.return_bps),
                        percent(r.return_bps),
                        r.rank
                    );
                }
                None => out.push_str("<td></td><td></td>"),
            }
        }
        let positions: Vec<String> = p
            .positions
            .iter()
            .map(|pos| format!("{} {}", pos.shares, escape(&pos.symbol)))
            .collect();
        let _ = writeln!(
            out,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            p.round_rank_average
                .map_or(String::new(), |a| percent(i64::from(a))),
            p.trades,
            p.volume,
            dollars(p.commissions_cents),
            dollars(p.dividends_cents),
            positions.join(", ")
        );
    }
    out.push_str("</tbody></table>\n");
}

fn legend(out: &mut String, labels: &[String]) {
    out.push_str("<div class=\"legend\">");
    for (i, label) in labels.iter().enumerate() {
        let (color, _) = style(i);
        let _ = write!(
            out,
            "<span><i class=\"swatch\" style=\"background:{color}\"></i>{}</span>",
            escape(label)
        );
    }
    out.push_str("</div>\n");
}

fn span(report: &Report) -> (u64, u64) {
    let from = report.game.first_time_ms.unwrap_or(0);
    (from, report.game.head_time_ms.max(from))
}

fn worth_chart(out: &mut String, report: &Report, students: &[&ParticipantReport]) {
    if report.net_worth_times_ms.is_empty() || students.is_empty() {
        return;
    }
    out.push_str("<h2>Net worth over time: students</h2>\n");
    let series: Vec<Series> = students
        .iter()
        .map(|p| Series {
            label: p.name.clone(),
            points: report
                .net_worth_times_ms
                .iter()
                .zip(&p.net_worth_history)
                .filter_map(|(t, w)| w.map(|w| (*t, w)))
                .collect(),
        })
        .collect();
    let (from_ms, to_ms) = span(report);
    out.push_str(&line_chart(&Chart {
        title: "Net worth over time",
        series: &series,
        markers: &[],
        from_ms,
        to_ms,
        label: &|v: i64| format!("${}", dollars(v)),
    }));
    let labels: Vec<String> = series.into_iter().map(|s| s.label).collect();
    legend(out, &labels);
}

fn prices(out: &mut String, report: &Report) {
    if report.symbols.is_empty() {
        return;
    }
    out.push_str("<h2>Prices, with the news</h2>\n<p class=\"meta\">Dashed gold lines mark news: hover over one to read its headline.</p>\n");
    let (from_ms, to_ms) = span(report);
    for s in &report.symbols {
        let markers: Vec<Marker> = report
            .news
            .iter()
            .filter(|n| n.symbol.as_deref().is_none_or(|t| t == s.ticker))
            .map(|n| Marker {
                time_ms: n.time_ms,
                title: n.headline.clone(),
            })
            .collect();
        let series = [Series {
            label: s.ticker.clone(),
            points: s.prices.iter().map(|&(t, p)| (t, p as i64)).collect(),
        }];
        let tick = s.tick_size_cents;
        let _ = write!(
            out,
            "<div class=\"symbol\"><h3>{} — {}: final ${}{} · volume {}</h3>",
            escape(&s.ticker),
            escape(&s.name),
            price(s.final_price_ticks, tick),
            s.value_ticks
                .map_or(String::new(), |v| format!(" · value ${}", price(v, tick))),
            s.volume
        );
        out.push_str(&line_chart(&Chart {
            title: &format!("{} price", s.ticker),
            series: &series,
            markers: &markers,
            from_ms,
            to_ms,
            label: &|v: i64| format!("${}", price(v.max(0) as u64, tick)),
        }));
        out.push_str("</div>\n");
    }
}

fn news(out: &mut String, report: &Report) {
    if report.news.is_empty() {
        return;
    }
    let from = report.game.first_time_ms.unwrap_or(0);
    out.push_str("<h2>News</h2>\n<table><thead><tr><th>Time</th><th>Block</th><th class=\"l\">Symbol</th><th class=\"l\">Headline</th><th class=\"l\">Story</th></tr></thead><tbody>\n");
    for n in &report.news {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            elapsed(n.time_ms.saturating_sub(from)),
            n.height,
            escape(n.symbol.as_deref().unwrap_or("")),
            escape(&n.headline),
            escape(&n.text)
        );
    }
    out.push_str("</tbody></table>\n");
    if report.news_left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"meta\">{} later news items are left out.</p>",
            report.news_left_out
        );
    }
}
