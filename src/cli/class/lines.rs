//! `qraft class --headless`: the class as lines of text. What the Class panel shows is
//! printed once, then a line for each change of a seat; commands come on stdin, a line
//! each: `approve N`, `approve all`, `refuse N`, `close`, `reopen`, `promote N` (make a
//! joined machine a voter), `roster`.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use qraft_client::class::service::ClassService;
use qraft_client::class::{
    ClassCommand, ClassView, PromotionState, PromotionView, RosterEntry, SeatState, VoterView,
};
use tokio::sync::mpsc;

use super::folder::ClassGame;
use crate::cli::signal;

/// The headless class, until a signal.
pub async fn run(
    game: &ClassGame,
    service: &ClassService,
    advertise_problem: Option<&str>,
    approve_all: bool,
) -> Result<()> {
    let mut view = service.view();
    let first = view.borrow_and_update().clone();
    say(&intro(game, &first, advertise_problem, approve_all));
    for entry in &first.roster {
        say(&seat_line(entry));
    }
    let _approver = approve_all.then(|| approve_arrivals(service));
    let commands = service.commands();
    let mut stdin = read_stdin();
    let mut stdin_open = true;
    let mut shown = Shown::of(&first);
    loop {
        tokio::select! {
            _ = signal::stop_requested(false) => return Ok(()),
            changed = view.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let now = view.borrow_and_update().clone();
                for line in shown.update(&now) {
                    say(&line);
                }
            }
            line = stdin.recv(), if stdin_open => match line {
                Some(line) => {
                    let parsed = parse_command(&line, &view.borrow());
                    match parsed {
                        Ok(Some(command)) => {
                            if commands.send(command).await.is_err() {
                                return Ok(());
                            }
                        }
                        Ok(None) => {}
                        Err(problem) => say(&format!("? {problem}")),
                    }
                }
                // No more commands (stdin closed, as under a script): keep serving.
                None => stdin_open = false,
            },
        }
    }
}

/// The longest command line read: commands are a few words.
const MAX_LINE: u64 = 256;

/// Reads stdin on its own thread, a line at a time (at most [`MAX_LINE`] bytes of each),
/// into a channel that closes at the end of stdin.
fn read_stdin() -> mpsc::Receiver<String> {
    use std::io::{BufRead, Read};
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            let mut line = String::new();
            match (&mut input).take(MAX_LINE).read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if !line.ends_with('\n') {
                        // Too long: skip the rest of it.
                        let mut rest = Vec::new();
                        let _ = input.read_until(b'\n', &mut rest);
                    }
                    if sender.blocking_send(line).is_err() {
                        return;
                    }
                }
            }
        }
    });
    receiver
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// What the teacher reads first: the code, how students join, what to type.
fn intro(game: &ClassGame, view: &ClassView, problem: Option<&str>, approve_all: bool) -> String {
    let mut text = format!(
        "class {:?} (game {}) {}\n",
        view.game,
        view.chain_prefix,
        if game.continued {
            "continued"
        } else {
            "started"
        }
    );
    text.push_str(&format!(
        "join code: {}\n",
        view.code.as_deref().unwrap_or("(joining closed)")
    ));
    if view.advertised {
        text.push_str("students run: qraft join\n");
    }
    for address in &view.addresses {
        text.push_str(&format!("  or:         qraft join {address}\n"));
    }
    if let Some(previous) = &game.genesis.previous {
        text.push_str(&format!(
            "game {} of the class, from block {} of the last one: its students' laptops move \
             here when they run `qraft join` again (no code)\n",
            game.number, previous.height
        ));
    }
    if let Some(problem) = problem {
        text.push_str(&format!(
            "note: the game is not advertised on the network: {problem}\n"
        ));
    }
    if let Some(scenario) = &game.genesis.scenario {
        text.push_str(&format!("scenario: {:?}", scenario.name));
        if scenario.start == qraft_node::core::scenario::ScenarioStart::ByAdmin {
            let dir = game.dir.display();
            text.push_str(&format!(
                "; it waits for you: `qraft admin start --genesis {dir}/genesis.toml --key \
                 {dir}/keys/teacher.key` starts it (once started, it starts no more)"
            ));
        }
        text.push('\n');
    }
    if view.addresses.is_empty() {
        text.push_str(
            "note: this laptop has no network address: students on other laptops cannot reach it\n",
        );
    }
    if !view.voters.is_empty() {
        text.push_str(&voters_line(view));
        text.push('\n');
    }
    if approve_all {
        text.push_str("every student who proves the code is approved\n");
        text.push_str("commands: promote N | close | reopen | roster\n");
    } else {
        text.push_str(
            "commands: approve N | approve all | refuse N | promote N | close | reopen | roster\n",
        );
    }
    text.trim_end().to_owned()
}

/// Approves each seat that starts waiting, for as long as the returned task runs (it is
/// aborted when dropped).
pub fn approve_arrivals(service: &ClassService) -> AbortOnDrop {
    let mut view = service.view();
    let commands = service.commands();
    AbortOnDrop(tokio::spawn(async move {
        loop {
            let waiting: Vec<u32> = view
                .borrow_and_update()
                .roster
                .iter()
                .filter(|e| e.state == SeatState::Waiting)
                .map(|e| e.seat)
                .collect();
            if !waiting.is_empty() && commands.send(ClassCommand::ApproveAll).await.is_err() {
                return;
            }
            if view.changed().await.is_err() {
                return;
            }
        }
    }))
}

/// A task aborted when this is dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What has been printed: each seat's state, the code, the refused attempts.
struct Shown {
    seats: BTreeMap<u32, SeatState>,
    addresses: Vec<std::net::SocketAddr>,
    code: Option<String>,
    refused: u64,
    voters: Vec<VoterView>,
    promotion: Option<PromotionView>,
}

impl Shown {
    fn of(view: &ClassView) -> Shown {
        Shown {
            seats: view
                .roster
                .iter()
                .map(|e| (e.seat, e.state.clone()))
                .collect(),
            addresses: view.addresses.clone(),
            code: view.code.clone(),
            refused: view.refused_attempts,
            voters: view.voters.clone(),
            promotion: view.promotion.clone(),
        }
    }

    /// The lines that tell what changed since the last view.
    fn update(&mut self, view: &ClassView) -> Vec<String> {
        let mut lines = Vec::new();
        if view.code != self.code {
            lines.push(match &view.code {
                Some(code) => format!("joining open: join code {code}"),
                None => "joining closed: the code no longer works".to_owned(),
            });
            self.code = view.code.clone();
        }
        if view.addresses != self.addresses {
            let at: Vec<String> = view
                .addresses
                .iter()
                .map(|a| format!("qraft join {a}"))
                .collect();
            lines.push(match at.is_empty() {
                true => "this laptop has no network address now".to_owned(),
                false => format!(
                    "this laptop's address changed: students type {}",
                    at.join(" or ")
                ),
            });
            self.addresses = view.addresses.clone();
        }
        if view.refused_attempts > self.refused {
            lines.push(format!(
                "refused attempts (wrong code or too many tries): {}",
                view.refused_attempts
            ));
            self.refused = view.refused_attempts;
        }
        for entry in &view.roster {
            if self.seats.get(&entry.seat) != Some(&entry.state) {
                lines.push(seat_line(entry));
                self.seats.insert(entry.seat, entry.state.clone());
            }
        }
        if view.promotion != self.promotion {
            if let Some(promotion) = &view.promotion {
                lines.push(promotion_line(promotion));
            }
            self.promotion = view.promotion.clone();
        }
        if view.voters != self.voters {
            if !view.voters.is_empty() {
                lines.push(voters_line(view));
            }
            self.voters = view.voters.clone();
        }
        lines
    }
}

/// `voters: node1 (this laptop), ada-4 at 10.0.0.5:41234: ...` and whether the game
/// outlives this laptop.
fn voters_line(view: &ClassView) -> String {
    let each: Vec<String> = view
        .voters
        .iter()
        .map(|v| match v.here {
            true => format!("{} (this laptop)", v.name),
            false => format!("{} at {}", v.name, v.address),
        })
        .collect();
    let outlook = if view.survives_this_laptop() {
        "the game goes on if this laptop stops"
    } else {
        "the game stops while this laptop does (`promote N` makes a joined machine you trust a voter)"
    };
    format!("voters: {}; {outlook}", each.join(", "))
}

fn promotion_line(promotion: &PromotionView) -> String {
    let who = format!("seat {} {:?}", promotion.seat, promotion.name);
    match &promotion.state {
        PromotionState::Working(step) => format!("making {who} a voter: {step}"),
        PromotionState::Done { address, retired } => {
            let retired = retired
                .map(|node| format!("; node {node} on this laptop stepped down to learner"))
                .unwrap_or_default();
            format!("{who} is a voter now, at {address}{retired}")
        }
        PromotionState::Failed(reason) => format!("{who} was not made a voter: {reason}"),
    }
}

fn seat_line(entry: &RosterEntry) -> String {
    let from = entry
        .from
        .map(|ip| format!(" from {ip}"))
        .unwrap_or_default();
    let what = match &entry.state {
        SeatState::Waiting => format!(
            "waiting{from}: `approve {}` or `refuse {}`",
            entry.seat, entry.seat
        ),
        SeatState::Admitting => "approved: registering on the chain".to_owned(),
        SeatState::Joined { node } => format!("joined as node {node}"),
        SeatState::Refused { reason } => format!("refused: {reason}"),
        SeatState::Failed { reason } => format!("could not join: {reason}"),
        SeatState::Left => "left before being approved".to_owned(),
    };
    format!("seat {} {:?}: {what}", entry.seat, entry.name)
}

/// A command line: the command to send, nothing (a blank line, or `roster` which
/// prints), or what is wrong with it.
fn parse_command(line: &str, view: &ClassView) -> Result<Option<ClassCommand>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let seat = |word: &str| -> Result<u32, String> {
        word.parse::<u32>()
            .ok()
            .filter(|n| view.roster.iter().any(|e| e.seat == *n))
            .ok_or_else(|| format!("no seat {word:?}; `roster` lists them"))
    };
    match words.as_slice() {
        [] => Ok(None),
        ["approve", "all"] => Ok(Some(ClassCommand::ApproveAll)),
        ["approve", n] => Ok(Some(ClassCommand::Approve(seat(n)?))),
        ["refuse", n] => Ok(Some(ClassCommand::Refuse(seat(n)?))),
        ["promote", n] => Ok(Some(ClassCommand::Promote(seat(n)?))),
        ["close"] => Ok(Some(ClassCommand::Close)),
        ["reopen"] | ["open"] => Ok(Some(ClassCommand::Reopen)),
        ["roster"] => {
            if view.roster.is_empty() {
                say("no students yet");
            }
            for entry in &view.roster {
                say(&seat_line(entry));
            }
            Ok(None)
        }
        _ => Err(format!(
            "{:?}: commands are approve N, approve all, refuse N, promote N, close, reopen, roster",
            line.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(roster: Vec<RosterEntry>) -> ClassView {
        ClassView {
            game: "P3".into(),
            chain_prefix: "0123456789abcdef".into(),
            code: Some("42-tulip-maple".into()),
            addresses: vec![],
            advertised: true,
            roster,
            refused_attempts: 0,
            voters: Vec::new(),
            promotion: None,
        }
    }

    fn entry(seat: u32, name: &str, state: SeatState) -> RosterEntry {
        RosterEntry {
            seat,
            name: name.into(),
            from: None,
            state,
        }
    }

    #[test]
    fn commands_name_existing_seats() {
        let v = view(vec![entry(1, "Ada", SeatState::Waiting)]);
        assert_eq!(
            parse_command("approve 1", &v),
            Ok(Some(ClassCommand::Approve(1)))
        );
        assert_eq!(
            parse_command(" refuse 1 ", &v),
            Ok(Some(ClassCommand::Refuse(1)))
        );
        assert_eq!(
            parse_command("approve all", &v),
            Ok(Some(ClassCommand::ApproveAll))
        );
        assert_eq!(parse_command("close", &v), Ok(Some(ClassCommand::Close)));
        assert_eq!(
            parse_command("promote 1", &v),
            Ok(Some(ClassCommand::Promote(1)))
        );
        assert_eq!(parse_command("", &v), Ok(None));
        assert!(
            parse_command("approve 2", &v)
                .unwrap_err()
                .contains("no seat")
        );
        assert!(
            parse_command("dance", &v)
                .unwrap_err()
                .contains("commands are")
        );
    }

    #[test]
    fn each_change_of_a_seat_is_a_line() {
        let mut v = view(vec![]);
        let mut shown = Shown::of(&v);
        v.roster.push(entry(1, "Ada", SeatState::Waiting));
        assert_eq!(
            shown.update(&v),
            vec!["seat 1 \"Ada\": waiting: `approve 1` or `refuse 1`".to_owned()]
        );
        assert!(shown.update(&v).is_empty(), "nothing changed");
        v.roster[0].state = SeatState::Joined { node: 4 };
        v.code = None;
        v.addresses = vec!["10.0.0.51:7800".parse().unwrap()];
        assert_eq!(
            shown.update(&v),
            vec![
                "joining closed: the code no longer works".to_owned(),
                "this laptop's address changed: students type qraft join 10.0.0.51:7800".to_owned(),
                "seat 1 \"Ada\": joined as node 4".to_owned(),
            ]
        );
    }

    fn voter(node: u64, name: &str, here: bool) -> VoterView {
        VoterView {
            node,
            name: name.into(),
            here,
            address: format!("10.0.0.{node}:7801"),
        }
    }

    #[test]
    fn a_promotion_and_the_voters_it_changes_are_lines() {
        let mut v = view(vec![entry(1, "Ada", SeatState::Joined { node: 4 })]);
        v.voters = (1..=3)
            .map(|n| voter(n, &format!("node{n}"), true))
            .collect();
        let mut shown = Shown::of(&v);
        let promotion = |state| PromotionView {
            seat: 1,
            name: "Ada".into(),
            state,
        };
        v.promotion = Some(promotion(PromotionState::Working(
            "waiting for it to catch up".into(),
        )));
        assert_eq!(
            shown.update(&v),
            vec!["making seat 1 \"Ada\" a voter: waiting for it to catch up".to_owned()]
        );
        v.promotion = Some(promotion(PromotionState::Done {
            address: "10.0.0.4:41234".into(),
            retired: Some(3),
        }));
        v.voters = vec![
            voter(1, "node1", true),
            voter(2, "node2", true),
            voter(4, "ada-4", false),
        ];
        assert_eq!(
            shown.update(&v),
            vec![
                "seat 1 \"Ada\" is a voter now, at 10.0.0.4:41234; node 3 on this laptop stepped down to learner".to_owned(),
                "voters: node1 (this laptop), node2 (this laptop), ada-4 at 10.0.0.4:7801; the game stops while this laptop does (`promote N` makes a joined machine you trust a voter)".to_owned(),
            ]
        );
        v.voters = vec![
            voter(1, "node1", true),
            voter(4, "ada-4", false),
            voter(5, "bo-5", false),
        ];
        let lines = shown.update(&v);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].ends_with("the game goes on if this laptop stops"),
            "{lines:?}"
        );
    }
}
