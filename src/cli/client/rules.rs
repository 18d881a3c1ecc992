//! `qraft rules` (the rules in force and their history) and `qraft admin rules` (the
//! admin puts new rules in force from the next block on: only what the options name
//! changes).

use std::fmt::Write as _;

use clap::Args;
use qraft_client::describe::rules_text;
use qraft_client::protocol::report::RulesReport;
use qraft_client::query;
use qraft_node::core::exchange::rules::RuleChange;
use qraft_node::core::genesis::Rules;
use qraft_node::core::tx::{AdminAction, TxBody};
use qraft_node::core::types::{Cents, format_cents, parse_cents};

use super::connect::{CommonArgs, Ctx, run_cli};
use super::output::{Failure, Report};
use super::settle::run_transaction_cli;
use super::submit::transact;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: RulesArgs) -> anyhow::Result<()> {
    run_cli(args.common, |ctx| async move { rules(&ctx).await })
}

/// The rules in force, since when, and every earlier set.
pub async fn rules(ctx: &Ctx) -> Result<Report, Failure> {
    let history = ctx.query(query::rules()).await?;
    render(history)
}

fn render(history: Vec<RuleChange>) -> Result<Report, Failure> {
    let Some(last) = history.last().cloned() else {
        return Err(Failure::error("the node answered with no rules at all"));
    };
    let mut text = String::new();
    let since = match last.height {
        0 => "since the game began".to_owned(),
        h => format!("since block {h}"),
    };
    let _ = writeln!(text, "Rules in force {since}:");
    for (label, value) in lines(&last.rules) {
        let _ = writeln!(text, "  {label:<14}{value}");
    }
    if history.len() > 1 {
        let _ = writeln!(text, "Every set of rules:");
        for change in &history {
            let at = match change.height {
                0 => "start".to_owned(),
                h => format!("block {h}"),
            };
            let _ = writeln!(text, "  {at:>12}  {}", rules_text(&change.rules));
        }
    }
    let json = RulesReport {
        in_force: last.rules,
        since_height: last.height,
        history,
    };
    Ok(Report::new(json, text.trim_end()))
}

/// The rules as labelled lines.
fn lines(rules: &Rules) -> Vec<(&'static str, String)> {
    vec![
        (
            "orders",
            format!("up to {} shares each", rules.max_order_shares),
        ),
        (
            "positions",
            match rules.max_position_shares {
                0 => "no limit".to_owned(),
                n => format!("up to {n} shares of a symbol, open buys counted"),
            },
        ),
        (
            "order rate",
            match rules.max_orders_per_minute {
                0 => "no limit".to_owned(),
                n => format!("{n} orders a minute"),
            },
        ),
        (
            "short selling",
            match rules.short_selling {
                true => format!("up to {} shares of a symbol", rules.max_short_shares),
                false => "not allowed".to_owned(),
            },
        ),
        (
            "commission",
            match (rules.commission_per_order, rules.commission_per_share) {
                (0, 0) => "none".to_owned(),
                (order, share) => format!(
                    "${} an order (once, when it first trades) and ${} a share",
                    format_cents(i128::from(order)),
                    format_cents(i128::from(share))
                ),
            },
        ),
        (
            "price band",
            format!(
                "{}.{:02}% (market orders)",
                rules.price_band_bps / 100,
                rules.price_band_bps % 100
            ),
        ),
        (
            "leaderboard",
            match rules.leaderboard_hidden {
                true => "hidden until the game ends".to_owned(),
                false => "shown".to_owned(),
            },
        ),
    ]
}

/// `qraft admin rules`: what to change; the rest stays as it is.
#[derive(Debug, Args)]
pub struct SetRulesArgs {
    /// The largest quantity one order may have.
    #[arg(long, value_name = "SHARES")]
    pub max_order: Option<u64>,
    /// The most shares of one symbol a participant may hold, open buys counted (0: no
    /// limit).
    #[arg(long, value_name = "SHARES")]
    pub max_position: Option<u64>,
    /// The most orders a participant may place in a minute (0: no limit).
    #[arg(long, value_name = "N")]
    pub orders_per_minute: Option<u32>,
    /// Whether participants may sell shares they do not have (give --max-short with it).
    #[arg(long, value_name = "yes|no", value_parser = clap::builder::BoolishValueParser::new())]
    pub short_selling: Option<bool>,
    /// With short selling, the most shares of one symbol a participant may be short.
    #[arg(long, value_name = "SHARES")]
    pub max_short: Option<u64>,
    /// How far market orders may trade from the last price, in percent (e.g. 10 or 2.5).
    #[arg(long, value_name = "PERCENT", value_parser = parse_band)]
    pub price_band: Option<u32>,
    /// Dollars an order pays the first time it trades (e.g. 1.00; 0: none).
    #[arg(long, value_name = "DOLLARS", value_parser = parse_dollars)]
    pub commission_per_order: Option<Cents>,
    /// Dollars an order pays for each share it trades (e.g. 0.01; 0: none).
    #[arg(long, value_name = "DOLLARS", value_parser = parse_dollars)]
    pub commission_per_share: Option<Cents>,
    /// Whether participants see the leaderboard only when the game ends.
    #[arg(long, value_name = "yes|no", value_parser = clap::builder::BoolishValueParser::new())]
    pub hide_leaderboard: Option<bool>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `1.50` (dollars) as cents.
fn parse_dollars(text: &str) -> Result<Cents, String> {
    parse_cents(text.trim().trim_start_matches('$'))
        .filter(|c| *c >= 0)
        .ok_or_else(|| format!("{text:?} is not an amount of dollars like 1.50"))
}

/// `2.5` (percent) as basis points.
fn parse_band(text: &str) -> Result<u32, String> {
    let text = text.trim().trim_end_matches('%');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: u32 = whole
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage like 10 or 2.5"))?;
    if fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{text:?}: at most two decimals"));
    }
    let fraction: u32 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|b| b.checked_add(fraction))
        .ok_or_else(|| format!("{text:?} is too large"))
}

impl SetRulesArgs {
    /// `rules` with what the options name changed; `None` if they name nothing.
    fn apply(&self, rules: &Rules) -> Option<Rules> {
        let named = [
            self.max_order.is_some(),
            self.max_position.is_some(),
            self.orders_per_minute.is_some(),
            self.short_selling.is_some(),
            self.max_short.is_some(),
            self.price_band.is_some(),
            self.commission_per_order.is_some(),
            self.commission_per_share.is_some(),
            self.hide_leaderboard.is_some(),
        ];
        if !named.contains(&true) {
            return None;
        }
        let mut next = rules.clone();
        next.max_order_shares = self.max_order.unwrap_or(next.max_order_shares);
        next.max_position_shares = self.max_position.unwrap_or(next.max_position_shares);
        next.max_orders_per_minute = self.orders_per_minute.unwrap_or(next.max_orders_per_minute);
        if let Some(on) = self.short_selling {
            next.short_selling = on;
            if !on {
                next.max_short_shares = 0;
            }
        }
        next.max_short_shares = self.max_short.unwrap_or(next.max_short_shares);
        next.price_band_bps = self.price_band.unwrap_or(next.price_band_bps);
        next.commission_per_order = self
            .commission_per_order
            .unwrap_or(next.commission_per_order);
        next.commission_per_share = self
            .commission_per_share
            .unwrap_or(next.commission_per_share);
        next.leaderboard_hidden = self.hide_leaderboard.unwrap_or(next.leaderboard_hidden);
        Some(next)
    }
}

pub fn run_set(args: SetRulesArgs) -> anyhow::Result<()> {
    let common = args.common.clone();
    run_transaction_cli(common, |ctx| async move { set_rules(&ctx, &args).await })
}

async fn set_rules(ctx: &Ctx, args: &SetRulesArgs) -> Result<Report, Failure> {
    let history = ctx.query(query::rules()).await?;
    let Some(now) = history.last() else {
        return Err(Failure::error("the node answered with no rules at all"));
    };
    let Some(next) = args.apply(&now.rules) else {
        return Err(Failure::usage(
            "which rule? give one or more of --max-order, --max-position, \
             --orders-per-minute, --short-selling, --max-short, --price-band, \
             --commission-per-order, --commission-per-share, --hide-leaderboard",
        ));
    };
    transact(ctx, TxBody::Admin(AdminAction::SetRules(next)), &mut None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_is_read_as_a_percentage() {
        assert_eq!(parse_band("10"), Ok(1_000));
        assert_eq!(parse_band("2.5"), Ok(250));
        assert_eq!(parse_band("0.05%"), Ok(5));
        assert!(parse_band("1.234").is_err());
        assert!(parse_band("ten").is_err());
    }

    #[test]
    fn only_what_the_options_name_changes() {
        let args = SetRulesArgs {
            max_order: None,
            max_position: Some(2_000),
            orders_per_minute: None,
            short_selling: Some(false),
            max_short: None,
            price_band: None,
            commission_per_order: Some(150),
            commission_per_share: None,
            hide_leaderboard: None,
            common: CommonArgs {
                connect: super::super::connect::ConnectArgs {
                    genesis: None,
                    key: None,
                    nodes: vec![],
                    timeout: 30,
                },
                json: false,
            },
        };
        let before = Rules {
            short_selling: true,
            max_short_shares: 100,
            ..Rules::default()
        };
        let after = args.apply(&before).unwrap();
        assert_eq!(after.max_position_shares, 2_000);
        assert!(!after.short_selling);
        assert_eq!(after.max_short_shares, 0);
        assert_eq!(after.max_order_shares, before.max_order_shares);
        assert_eq!(after.commission_per_order, 150);
        let none = SetRulesArgs {
            max_position: None,
            short_selling: None,
            commission_per_order: None,
            ..args
        };
        assert_eq!(none.apply(&before), None);
    }

    #[test]
    fn the_history_reads_as_lines_and_json() {
        let genesis = Rules::default();
        let later = Rules {
            max_position_shares: 2_000,
            ..Rules::default()
        };
        let report = render(vec![
            RuleChange {
                height: 0,
                rules: genesis,
            },
            RuleChange {
                height: 12,
                rules: later,
            },
        ])
        .unwrap();
        assert!(
            report.human.starts_with("Rules in force since block 12:"),
            "{}",
            report.human
        );
        assert!(
            report.human.contains("positions     up to 2000 shares"),
            "{}",
            report.human
        );
        assert!(
            report.human.contains("block 12  orders up to"),
            "{}",
            report.human
        );
        assert_eq!(report.json["since_height"], 12);
        assert_eq!(report.json["in_force"]["max_position_shares"], 2_000);
    }
}
