//! The class's next game (`qraft class --next`), the laptop's side: on every resume, and
//! now and then while the laptop is cut off from every voter, it asks the class's
//! enrollment port whether the class moved on, and moves to the new game with no code
//! (the exchange, and why only the class's own teacher can move it, is in
//! `qraft_node::enroll::returning`). The game it leaves stays on the laptop.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use qraft_client::class::join::{JoinError, Joined};
use qraft_client::class::returning::{Returned, return_to_class};
use qraft_node::net::discovery::chain_prefix;
use qraft_node::net::enroll::{ChannelError, enroll_client_endpoint};
use qraft_node::net::node::NetNode;

use super::home::{Home, Identity, JoinedGame};
use super::say;

/// How often a laptop cut off from every voter asks the class whether it moved on: the
/// teacher started the next game while the laptop ran. An exchange is a few packets; a
/// class of thirty asking every ten seconds costs the teacher's laptop nothing.
const CUT_OFF_CHECK: Duration = Duration::from_secs(10);

/// What the class said, if it could be asked: `Some` when it moved on to another game.
async fn ask(identity: &Identity, game: &JoinedGame) -> Result<Option<Box<Joined>>, String> {
    let (Some(port), Ok(ip)) = (game.enroll_port(), game.record.teacher.parse::<IpAddr>()) else {
        return Ok(None);
    };
    let at = SocketAddr::new(ip, port);
    let endpoint = enroll_client_endpoint().map_err(|e| e.to_string())?;
    let outcome = return_to_class(
        &endpoint,
        at,
        &game.genesis,
        &identity.participant,
        identity.node.public(),
    )
    .await;
    endpoint.close(0u32.into(), b"done");
    match outcome {
        Ok(Returned::Current) => Ok(None),
        Ok(Returned::Moved(joined)) => Ok(Some(joined)),
        // The teacher's laptop is off or elsewhere: nothing to say.
        Err(JoinError::Channel(
            ChannelError::DialTimeout { .. } | ChannelError::Unreachable { .. },
        )) => Ok(None),
        Err(err) => Err(format!("the class at {at} did not move this laptop: {err}")),
    }
}

/// On resume: the class's current game when it moved on (moved to, and said so, with
/// what was said for the dashboard), else `game`.
pub async fn follow_the_class(
    home: &Home,
    game: JoinedGame,
) -> Result<(JoinedGame, Option<String>)> {
    let identity = home.identity()?;
    match ask(&identity, &game).await {
        Ok(Some(joined)) => {
            let (next, said) = move_to(home, &game, &joined)?;
            Ok((next, Some(said)))
        }
        Ok(None) => Ok((game, None)),
        Err(problem) => {
            say(&format!("{problem}; resuming {:?}", game.record.game));
            Ok((game, None))
        }
    }
}

/// While the laptop's node reaches none of the game's voters, asks the class now and
/// then; the game it moved on to, once it did (pending until then).
pub async fn watch(identity: &Identity, node: &NetNode, game: &JoinedGame) -> Box<Joined> {
    let voters: Vec<u64> = game.genesis.voters.iter().map(|v| v.id).collect();
    loop {
        tokio::time::sleep(CUT_OFF_CHECK).await;
        if voters.iter().any(|id| node.is_connected_to(*id)) {
            continue;
        }
        match ask(identity, game).await {
            Ok(Some(joined)) => return joined,
            Ok(None) => {}
            Err(problem) => tracing::warn!(%problem, "asking the class whether it moved on"),
        }
    }
}

/// Records the class's new game on this laptop (beside the one it leaves), says so, and
/// returns it to play, with the gist of it for the dashboard's status line.
pub fn move_to(home: &Home, left: &JoinedGame, joined: &Joined) -> Result<(JoinedGame, String)> {
    let next = home
        .save(
            &joined.payload,
            &joined.genesis,
            &chain_prefix(&joined.chain_id),
            joined.teacher,
            left.record.port,
        )
        .context("cannot record the class's new game")?;
    let link = match &joined.genesis.previous {
        Some(previous) => format!(
            ", which starts from block {} ({}) of game {}",
            previous.height,
            previous.block.short(12),
            chain_prefix(&previous.chain),
        ),
        None => String::new(),
    };
    let said = format!(
        "the class moved on to {:?}, game {}{link}. You play it as {} (node {}), with a fresh \
         start; {:?} stays on this laptop (qraft join --game {})",
        joined.payload.game,
        chain_prefix(&joined.chain_id),
        joined.payload.participant,
        joined.payload.node_id,
        left.record.game,
        left.dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    say(&said);
    // The dashboard's status line has one line: the gist.
    let gist = format!(
        "The class moved on: this is {:?}, a fresh start as {}",
        joined.payload.game, joined.payload.participant
    );
    Ok((next, gist))
}
