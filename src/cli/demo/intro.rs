//! What the demo says when it starts: where the game is, what runs, and how to poke at
//! it from another terminal with the client commands (`qraft admin ...` included).

use std::fmt::Write as _;
use std::path::Path;

use qraft_node::core::types::format_cents;

use super::folder::DemoGame;
use super::lineup::{ADMIN, YOU};

/// What there is to say.
pub struct Intro<'a> {
    pub game: &'a DemoGame,
    /// Where the nodes listen, in node order.
    pub addresses: &'a [String],
    /// Whether those are not the genesis's addresses.
    pub moved: bool,
    pub temporary: bool,
    /// The bots that trade.
    pub bots: &'a [String],
    pub seed: u64,
    /// The chain's height when a continued game started again.
    pub height: u64,
}

impl Intro<'_> {
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        let dir = shell_word(&self.game.dir);
        if self.game.continued {
            writeln!(
                out,
                "QRaft demo: continuing the game in {dir} from its data (height {})",
                self.height
            )?;
        } else if self.temporary {
            writeln!(
                out,
                "QRaft demo: a new game in {dir} (removed when the demo stops)"
            )?;
        } else {
            writeln!(out, "QRaft demo: a new game in {dir}")?;
        }
        let nodes: Vec<String> = self
            .game
            .genesis
            .voters
            .iter()
            .zip(self.addresses)
            .map(|(spec, address)| format!("{} {address}", spec.name))
            .collect();
        writeln!(out, "  nodes   {} (in this process)", nodes.join(", "))?;
        let symbols: Vec<String> = self
            .game
            .genesis
            .symbols
            .iter()
            .map(|s| format!("{} ${}", s.ticker, format_cents(s.reference_price.into())))
            .collect();
        writeln!(out, "  market  {}", symbols.join(", "))?;
        match self.bots.len() {
            0 => writeln!(out, "  bots    none")?,
            n => writeln!(
                out,
                "  bots    {n} trading: {} (seed {})",
                self.bots.join(", "),
                self.seed
            )?,
        }
        writeln!(
            out,
            "  you     trade as {YOU:?} with keys/{YOU}.key; the admin's key is keys/{ADMIN}.key"
        )?;
        let node = match (self.moved, self.addresses.first()) {
            (true, Some(address)) => format!(" --node {address}"),
            _ => String::new(),
        };
        let first = self.game.genesis.symbols.first();
        let ticker = first.map_or("ACME".to_string(), |s| s.ticker.to_string());
        let price = first.map_or("12.50".to_string(), |s| {
            format_cents(s.reference_price.into())
        });
        writeln!(out, "Try from another terminal while the demo runs:")?;
        writeln!(out, "  cd {dir}")?;
        writeln!(out, "  qraft portfolio --key keys/{YOU}.key{node}")?;
        writeln!(
            out,
            "  qraft order buy {ticker} 5 --limit {price} --key keys/{YOU}.key{node}"
        )?;
        writeln!(
            out,
            "  qraft admin news \"Earnings beat estimates\" --key keys/{ADMIN}.key{node}"
        )?;
        writeln!(
            out,
            "  qraft admin halt {ticker} --key keys/{ADMIN}.key{node}    (then: admin resume {ticker})"
        )
    }
}

/// A path as one word a shell reads back unchanged.
pub fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word(Path::new("/tmp/qraft-demo-x1")),
            "/tmp/qraft-demo-x1"
        );
        assert_eq!(shell_word(Path::new("/tmp/my game")), "'/tmp/my game'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }
}
