//! `qraft join`: the student's one command. Finds the teacher's game (on the network by
//! mDNS, or at the address the teacher's screen shows), asks for the code and the
//! student's name, makes this laptop's keys (in the user's data directory; they never
//! leave it), enrolls, waits for the teacher's approval saying what it waits for, then
//! starts this laptop's node (a learner that dials the teacher's voters: no open port
//! needed) and opens the dashboard as the student. Run again, it resumes: same keys, same
//! seat, the node catches up.
//!
//! - [`home`]: the laptop's keys and joined games.
//! - [`find`]: the teacher's game: a typed address or the games heard.
//! - [`advice`]: what to say when the network is the problem.
//! - [`play`]: the joined laptop's node, with the dashboard or headless.
//! - [`next`]: the class's next game: asked on every resume and while cut off, moved to
//!   with no code.

mod advice;
mod find;
mod home;
mod next;
mod play;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use qraft_client::class::join::{JoinError, JoinStep, Joined, enroll};
use qraft_node::enroll::{EnrollError, EnrollRequest, JoinCode, Refusal};
use qraft_node::net::discovery::chain_prefix;
use qraft_node::net::enroll::{ChannelError, enroll_client_endpoint};

use find::Candidate;
use home::{Home, JoinedGame};

/// The options of `qraft join` (its help text is on `Command::Join` in main.rs).
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The teacher's address as their screen shows it, HOST:PORT [default: find the game
    /// on this network]. For a game already joined: where the teacher's laptop is now.
    #[arg(value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// The join code on the teacher's screen, like 42-tulip-maple [default: ask].
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Your name, as the teacher will see it on the roster [default: ask].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Which game, when the network has several (or this laptop joined several): part
    /// of its name or its game code.
    #[arg(long, value_name = "NAME")]
    pub game: Option<String>,
    /// No dashboard: the node alone, a line per block, until Ctrl-C or SIGTERM (for bots
    /// and scripts: give --code and --name too).
    #[arg(long)]
    pub headless: bool,
    /// Where this laptop keeps its keys and games [env: QRAFT_HOME] [default: your data
    /// directory's qraft folder].
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The UDP port this laptop's node listens on, for your own tools (`qraft order
    /// --node 127.0.0.1:PORT`) [default: the one it had, else any free one].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// Runs `qraft join`.
pub fn run(args: JoinArgs) -> Result<()> {
    if !args.headless && !std::io::stdout().is_terminal() {
        bail!("the dashboard needs a terminal; to run without it, add --headless");
    }
    let home = Home::locate(
        args.home
            .clone()
            .or_else(|| std::env::var_os("QRAFT_HOME").map(PathBuf::from)),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(join(&home, &args));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    outcome
}

async fn join(home: &Home, args: &JoinArgs) -> Result<()> {
    let joined = home.joined()?;
    let resume = args.code.is_none() && !joined.is_empty();
    let (mut game, mut greeting) = if resume {
        let game = resume_game(joined, args)?;
        // A game named with --game is the student's choice: it is not moved from.
        match args.game {
            Some(_) => (game, None),
            None => next::follow_the_class(home, game).await?,
        }
    } else {
        (enroll_game(home, args).await?, None)
    };
    loop {
        match play::run(home, game, args, greeting).await? {
            play::Ended::Quit => return Ok(()),
            play::Ended::Moved(next, said) => (game, greeting) = (*next, Some(said)),
        }
    }
}

/// The joined game to resume: the one --game names, else the most recently used.
fn resume_game(joined: Vec<JoinedGame>, args: &JoinArgs) -> Result<JoinedGame> {
    let wanted = args.game.as_deref().map(str::to_lowercase);
    let mut matching: Vec<JoinedGame> = joined
        .into_iter()
        .filter(|g| {
            wanted.as_deref().is_none_or(|w| {
                g.record.game.to_lowercase().contains(w)
                    || g.dir
                        .file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with(w))
            })
        })
        .collect();
    if matching.is_empty() {
        bail!(
            "this laptop joined no game matching {:?}; to join a new game, give its --code",
            args.game.as_deref().unwrap_or_default()
        );
    }
    let mut game = matching.remove(0);
    if let Some(address) = &args.address {
        // The teacher's laptop moved: its voters are at the new host from now on.
        let candidate = find::typed(address)?;
        game.record.teacher = candidate.addresses[0].ip().to_string();
    }
    say(&format!(
        "resuming {:?} as {} (node {}); the teacher's laptop at {}",
        game.record.game, game.record.name, game.record.node_id, game.record.teacher
    ));
    Ok(game)
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Asks for a line on the terminal.
fn ask(question: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("{question}: give it as a flag (--code, --name) when not at a terminal");
    }
    print!("{question}: ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the terminal")?;
    Ok(line.trim().to_owned())
}

/// Finds the game, enrolls in it and records it.
async fn enroll_game(home: &Home, args: &JoinArgs) -> Result<JoinedGame> {
    let candidates = match &args.address {
        Some(address) => vec![find::typed(address)?],
        None => {
            say("looking for games on this network...");
            // The browse blocks for its few seconds: off the async workers.
            let wanted = args.game.clone();
            tokio::task::spawn_blocking(move || find::heard(wanted.as_deref()))
                .await
                .context("the network search stopped")??
        }
    };
    let candidates = choose(candidates, args)?;
    if let [only] = candidates.as_slice()
        && only.label.is_some()
    {
        say(&format!("found {}", only.describe()));
    }
    let code_text = match &args.code {
        Some(code) => code.clone(),
        None => ask("join code (on the teacher's screen)")?,
    };
    let code: JoinCode = code_text
        .parse()
        .map_err(|err| anyhow!("the join code {code_text:?}: {err}"))?;
    let name = match &args.name {
        Some(name) => name.trim().to_owned(),
        None => ask("your name (as the teacher will see it)")?,
    };
    let identity = home.identity()?;
    let request = EnrollRequest {
        name,
        participant: identity.participant.public(),
        node: identity.node.public(),
    };
    request
        .validate()
        .map_err(|err| anyhow!("your name: {err}"))?;
    let endpoint = enroll_client_endpoint().context("cannot open a network socket")?;
    let joined = try_candidates(&endpoint, &candidates, &code, &request).await;
    endpoint.close(0u32.into(), b"done");
    let joined = joined?;
    let game = home.save(
        &joined.payload,
        &joined.genesis,
        &chain_prefix(&joined.chain_id),
        joined.teacher,
        args.port.unwrap_or(0),
    )?;
    say(&format!(
        "joined {:?} as {} (node {})",
        joined.payload.game, joined.payload.participant, joined.payload.node_id
    ));
    Ok(game)
}

/// The candidates to try: all of them when headless or when only one; else the one the
/// student picks.
fn choose(candidates: Vec<Candidate>, args: &JoinArgs) -> Result<Vec<Candidate>> {
    if candidates.len() == 1 || args.headless || !std::io::stdin().is_terminal() {
        return Ok(candidates);
    }
    say("games on this network:");
    for (i, c) in candidates.iter().enumerate() {
        say(&format!("  {}. {}", i + 1, c.describe()));
    }
    loop {
        let answer = ask("which one (compare the game code with the teacher's screen)")?;
        match answer.parse::<usize>() {
            Ok(n) if (1..=candidates.len()).contains(&n) => {
                return Ok(vec![candidates[n - 1].clone()]);
            }
            _ => say(&format!("type a number from 1 to {}", candidates.len())),
        }
    }
}

/// Tries each candidate's addresses in turn until one enrolls this laptop. A game that
/// cannot prove the code (a look-alike) is passed over; a refusal from the real game
/// ends the attempt.
async fn try_candidates(
    endpoint: &quinn::Endpoint,
    candidates: &[Candidate],
    code: &JoinCode,
    request: &EnrollRequest,
) -> Result<Joined> {
    let mut problems: Vec<String> = Vec::new();
    let mut unreachable: Vec<String> = Vec::new();
    let mut refusals: Vec<Refusal> = Vec::new();
    for candidate in candidates {
        for address in &candidate.addresses {
            let step = |step: JoinStep| match step {
                JoinStep::Dialling(at) => {
                    say(&format!("contacting the teacher's laptop at {at}..."))
                }
                JoinStep::Proving => say("proving the join code..."),
                JoinStep::Waiting { chain_prefix } => say(&format!(
                    "waiting for the teacher to approve {:?} (game {chain_prefix}: check that \
                         the teacher's screen shows the same)",
                    request.name
                )),
            };
            match enroll(endpoint, *address, *code, request.clone(), &step).await {
                Ok(joined) => return Ok(joined),
                Err(JoinError::Channel(
                    ChannelError::DialTimeout { .. } | ChannelError::Unreachable { .. },
                )) => {
                    unreachable.push(address.to_string());
                }
                Err(JoinError::Enroll(EnrollError::TeacherUnproven)) => {
                    let what = candidate.describe();
                    say(&format!("skipping {what}: it did not prove the join code"));
                    problems.push(advice::unproven(&what));
                }
                // A look-alike game refuses the real code too: another candidate may be
                // the teacher's. Said only if none is.
                Err(JoinError::Enroll(EnrollError::Refused(
                    refusal @ (Refusal::WrongCode | Refusal::RateLimited { .. }),
                ))) => {
                    refusals.push(refusal);
                    break;
                }
                Err(JoinError::Enroll(EnrollError::Refused(refusal))) => {
                    // The reason is the teacher's text: shown without control characters.
                    let reason: String = refusal
                        .to_string()
                        .chars()
                        .map(|c| if c.is_control() { '?' } else { c })
                        .collect();
                    bail!("{reason}");
                }
                Err(err) => problems.push(format!("{}: {err}", candidate.describe())),
            }
        }
    }
    if let Some(limited) = refusals
        .iter()
        .find(|r| matches!(r, Refusal::RateLimited { .. }))
    {
        bail!("{limited}");
    }
    if !refusals.is_empty() {
        bail!("{}", advice::WRONG_CODE);
    }
    if let Some(problem) = problems.pop() {
        bail!("{problem}");
    }
    bail!("{}", advice::unreachable(&unreachable.join(", ")))
}
