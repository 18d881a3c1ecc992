//! The rules in short words, and what changed between two sets of them (pure): the
//! Rules box lists the rules in force and each change as `positions 2,000 → 1,500`.
//!
//! Only the rules an admin can change are compared: `open_at_start` and the candle
//! length stay the genesis's for the whole game.

use qraft_node::core::genesis::Rules;

use crate::format;

/// The most shares one order may have: `500`.
pub fn orders(rules: &Rules) -> String {
    format::count(i128::from(rules.max_order_shares))
}

/// The position limit: `2,000`, or `no limit`.
pub fn positions(rules: &Rules) -> String {
    limit(rules.max_position_shares)
}

/// The order rate: `30/min`, or `no limit`.
pub fn rate(rules: &Rules) -> String {
    match rules.max_orders_per_minute {
        0 => "no limit".to_owned(),
        n => format!("{}/min", format::count(i128::from(n))),
    }
}

/// How short one may go: `100`, or `not allowed`.
pub fn short_sales(rules: &Rules) -> String {
    if rules.short_selling {
        format::count(i128::from(rules.max_short_shares))
    } else {
        "not allowed".to_owned()
    }
}

/// The price band as a percentage: `10.00%`.
pub fn price_band(rules: &Rules) -> String {
    format!(
        "{}.{:02}%",
        rules.price_band_bps / 100,
        rules.price_band_bps % 100
    )
}

/// The commission: `$1.00 + $0.01/sh`, or `none`.
pub fn commission(rules: &Rules) -> String {
    match (rules.commission_per_order, rules.commission_per_share) {
        (0, 0) => "none".to_owned(),
        (order, share) => format!(
            "${} + ${}/sh",
            qraft_node::core::types::format_cents(i128::from(order)),
            qraft_node::core::types::format_cents(i128::from(share))
        ),
    }
}

/// The leaderboard: `shown`, or `hidden` (until the game ends).
pub fn leaderboard(rules: &Rules) -> String {
    if rules.leaderboard_hidden {
        "hidden until the end".to_owned()
    } else {
        "shown".to_owned()
    }
}

fn limit(shares: u64) -> String {
    match shares {
        0 => "no limit".to_owned(),
        n => format::count(i128::from(n)),
    }
}

/// One rule in short words.
type Show = fn(&Rules) -> String;

/// What differs from `before` to `after`, one `what old → new` per rule changed, in the
/// order the Rules box lists them (empty when nothing an admin can change differs; the
/// short limit counts only while short selling is allowed).
pub fn differences(before: &Rules, after: &Rules) -> Vec<String> {
    let parts: [(&str, Show); 7] = [
        ("orders", orders),
        ("positions", positions),
        ("rate", rate),
        ("short sales", short_sales),
        ("price band", price_band),
        ("commission", commission),
        ("leaderboard", leaderboard),
    ];
    parts
        .iter()
        .filter_map(|(what, show)| {
            let (old, new) = (show(before), show(after));
            (old != new).then(|| format!("{what} {old} → {new}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            max_order_shares: 500,
            max_position_shares: 2_000,
            ..Rules::default()
        }
    }

    #[test]
    fn a_commission_set_reads_in_dollars() {
        let after = Rules {
            commission_per_order: 150,
            commission_per_share: 1,
            ..rules()
        };
        assert_eq!(
            differences(&rules(), &after),
            ["commission none → $1.50 + $0.01/sh"]
        );
    }

    #[test]
    fn the_same_rules_differ_in_nothing() {
        assert!(differences(&rules(), &rules()).is_empty());
    }

    #[test]
    fn a_position_limit_lowered() {
        let after = Rules {
            max_position_shares: 1_500,
            ..rules()
        };
        assert_eq!(differences(&rules(), &after), ["positions 2,000 → 1,500"]);
    }

    #[test]
    fn limits_set_and_lifted_say_no_limit() {
        let after = Rules {
            max_position_shares: 0,
            max_orders_per_minute: 30,
            ..rules()
        };
        assert_eq!(
            differences(&rules(), &after),
            ["positions 2,000 → no limit", "rate no limit → 30/min"]
        );
    }

    #[test]
    fn every_rule_changed_in_the_box_order() {
        let after = Rules {
            max_order_shares: 1_000,
            max_position_shares: 0,
            max_orders_per_minute: 12,
            short_selling: true,
            max_short_shares: 100,
            price_band_bps: 550,
            ..rules()
        };
        assert_eq!(
            differences(&rules(), &after),
            [
                "orders 500 → 1,000",
                "positions 2,000 → no limit",
                "rate no limit → 12/min",
                "short sales not allowed → 100",
                "price band 10.00% → 5.50%",
            ]
        );
    }

    #[test]
    fn the_short_limit_counts_only_with_short_selling() {
        let hidden = Rules {
            max_short_shares: 300,
            ..rules()
        };
        assert!(differences(&rules(), &hidden).is_empty());
        let allowed = Rules {
            short_selling: true,
            max_short_shares: 100,
            ..rules()
        };
        let more = Rules {
            max_short_shares: 250,
            ..allowed.clone()
        };
        assert_eq!(differences(&allowed, &more), ["short sales 100 → 250"]);
        assert_eq!(
            differences(&more, &rules()),
            ["short sales 250 → not allowed"]
        );
    }
}
