//! Raft traffic between nodes over QUIC: the [`Transport`] a networked node runs with,
//! and the reading side of peer connections.
//!
//! Each node keeps one outgoing connection per peer (reconnecting with backoff) and one
//! unidirectional stream on it for ordinary messages, in order. A snapshot goes on a
//! stream of its own, in chunks, and its delivery is reported back to Raft. Connections
//! are identified by their TLS key; every message read from one is handed to the node
//! as coming from that connection's node, whatever it claims inside.
//!
//! A node whose registered address is [`DIALS_OUT`] (a student's laptop behind client
//! isolation, on a changing DHCP lease) is never dialled. It dials every voter itself
//! and keeps those connections up even with nothing to send ([`PeerTransport::hold`]);
//! each voter keeps the newest live connection of such a node as its route, and the
//! link to the node writes its message and snapshot streams there, waiting (and telling
//! Raft the node is unreachable) while there is none, and moving to a newer connection
//! when one comes. Streams a peer opens on a connection this node dialled are read like
//! those of an incoming connection, with the same checks ([`serve_peer`]). Between
//! voters, and towards reachable learners, nothing changes: each side dials the other.
//!
//! A peer that restarts or moves is reached again at once, not after an idle timeout:
//! - its stateless resets close the old connection on its first packet (the reset key is
//!   derived from its node key: [`super::reset_key`]);
//! - each message stream opens with the sender's incarnation (a number drawn when its
//!   transport starts). A new incarnation on an incoming stream means the peer
//!   restarted: the outgoing link to it is dropped and dialled again at once, whatever
//!   state it was in (connected to a dead process, dialling, or waiting out a backoff);
//! - a peer's address is learned from its own authenticated connections (where its
//!   connection comes from, migrations included) and dialled from then on; the address
//!   in the genesis or configuration is the fallback. Nothing depends on a peer's address
//!   staying what it was;
//! - a node that dials out and moves takes its connections with it (QUIC migrates
//!   them); one that restarts or loses its connections dials again, and its new
//!   connection becomes the route at once.

use std::net::SocketAddr;
use std::sync::mpsc::Sender as InboxSender;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use crate::core::genesis::DIALS_OUT;
use crate::core::types::NodeId;
use crate::io::inbox::Input;
use crate::io::runner::Transport;
use crate::raft::wire::WireMessageType;
use crate::replica::PeerMessage;

use super::connections::MAX_PEER_CONNECTIONS;
use super::frame::{
    FRAME_DEADLINE, FrameError, MAX_PEER_FRAME, MAX_SNAPSHOT, SNAPSHOT_CHUNK, read_frame_within,
    read_snapshot, write_frame, write_snapshot,
};
use super::ratelog::NET_LOG;
use super::tls::{Alpn, PEER_ALPN, connect_within, grant_streams};

/// Messages queued for one peer, at most; beyond that they are dropped (Raft resends).
const LINK_QUEUE: usize = 8_192;
/// The first wait after a failed dial, doubled after each failure up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait between dials of a peer that does not answer. A peer that comes back
/// does not wait it out: its own connection to this node wakes the link (see the
/// module docs).
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one dial of a peer may take. A LAN handshake takes milliseconds; QUIC resends
/// a lost first packet after about a second, so three seconds allows for a resend or
/// two, without leaving the link stuck on a dial to a peer that is down.
const PEER_DIAL_TIMEOUT: Duration = Duration::from_secs(3);
/// The least time between two connections of one link when the second replaces a live
/// first one (the peer restarted or moved). A peer that claims a new incarnation on every
/// stream can make this node dial it at most once a second.
const MIN_REPLACE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a link to a node that dials out waits for that node's connection before it
/// tells Raft the node is unreachable and drops what queued meanwhile, as a failed dial
/// does: the node dials again within [`BACKOFF_MAX`], and a second keeps Raft's view of
/// it fresh without piling up stale messages.
const ROUTE_WAIT: Duration = Duration::from_secs(1);

/// The most nodes that dial out this node keeps a route to at once: each route is a
/// live admitted peer connection, so the connection registry's budget bounds them
/// anyway; past it, a further node's connection is served but not answered on.
const MAX_ROUTES: usize = MAX_PEER_CONNECTIONS;

/// How often an incoming peer connection's address is checked: its keep-alives
/// ([`super::tls::PEER_KEEP_ALIVE`]) come each second, and QUIC moves the connection to a
/// new address on the first packet from it, so a peer that moved is followed within two
/// seconds; a check is a lock and a comparison.
const ADDRESS_CHECK: Duration = Duration::from_secs(1);

/// The first frame of every peer stream: what follows on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamKind {
    /// [`PeerMessage`] frames, in order, until the stream ends. `incarnation` is drawn at
    /// random when the sender's transport starts: a new one means the sender restarted.
    Messages { incarnation: u64 },
    /// One Raft snapshot message, chunked.
    Snapshot,
}

/// Sends this node's Raft traffic to its peers over QUIC. Cheap to clone.
#[derive(Clone)]
pub struct PeerTransport {
    inner: Arc<Links>,
}

struct Links {
    me: NodeId,
    /// This transport's incarnation, sent at the start of every message stream.
    incarnation: u64,
    endpoint: quinn::Endpoint,
    runtime: tokio::runtime::Handle,
    /// Where each node is reached: configured (`host:port`) and learned.
    addresses: Arc<Addresses>,
    links: Mutex<FxHashMap<NodeId, LinkHandle>>,
    /// How nodes that dial out are reached: their newest connection to this node.
    routes: Arc<Routes>,
    /// The current voters, for the streams read on connections this node dialled.
    voters: Voters,
    /// This node's own inbox, for unreachable and snapshot reports.
    inbox: OnceLock<InboxSender<Input>>,
}

/// The newest live incoming connection of each node that dials out ([`DIALS_OUT`]): its
/// link writes there, since the node cannot be dialled. At most [`MAX_ROUTES`].
#[derive(Default)]
struct Routes {
    by_node: Mutex<FxHashMap<NodeId, quinn::Connection>>,
}

impl Routes {
    /// Makes `connection` node `id`'s route; false when the table is full of other
    /// nodes' live routes.
    fn record(&self, id: NodeId, connection: &quinn::Connection) -> bool {
        let mut by_node = lock(&self.by_node);
        if !by_node.contains_key(&id) && by_node.len() >= MAX_ROUTES {
            by_node.retain(|_, route| route.close_reason().is_none());
            if by_node.len() >= MAX_ROUTES {
                return false;
            }
        }
        by_node.insert(id, connection.clone());
        true
    }

    /// Node `id`'s route, while it is open.
    fn current(&self, id: NodeId) -> Option<quinn::Connection> {
        lock(&self.by_node)
            .get(&id)
            .filter(|route| route.close_reason().is_none())
            .cloned()
    }

    /// Takes `connection` out as node `id`'s route, unless a newer one replaced it.
    fn withdraw(&self, id: NodeId, connection: &quinn::Connection) {
        let mut by_node = lock(&self.by_node);
        if by_node
            .get(&id)
            .is_some_and(|route| route.stable_id() == connection.stable_id())
        {
            by_node.remove(&id);
        }
    }

    fn forget(&self, id: NodeId) {
        lock(&self.by_node).remove(&id);
    }
}

/// Where peers are reached.
#[derive(Default)]
struct Addresses {
    /// From the genesis, the ledger or the configuration (`host:port`).
    configured: Mutex<FxHashMap<NodeId, String>>,
    /// What each peer's own latest connection to this node told: its incarnation and
    /// where it came from.
    heard: Mutex<FxHashMap<NodeId, Heard>>,
}

impl Addresses {
    /// Whether node `id` dials out: it is reached on its own connections, never dialled.
    fn dials_out(&self, id: NodeId) -> bool {
        lock(&self.configured)
            .get(&id)
            .is_some_and(|address| address == DIALS_OUT)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard {
    /// Unknown until a message stream of the peer opened.
    incarnation: Option<u64>,
    address: SocketAddr,
}

/// The transport's side of one link: its queue and its controls.
struct LinkHandle {
    queue: mpsc::Sender<PeerMessage>,
    control: Arc<LinkControl>,
}

/// What the transport and the link task share about one link.
#[derive(Default)]
struct LinkControl {
    /// Wakes the link to drop its connection (or its dial, or its backoff) and dial
    /// again now. A wake-up given while the task is busy is kept for its next wait.
    redial: Notify,
    /// What the link is doing.
    phase: Mutex<Phase>,
}

/// What a link is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Dialling its peer.
    #[default]
    Dialling,
    /// Waiting before it dials again, after a failed dial; or, for a node that dials
    /// out, waiting for its connection.
    Waiting,
    /// Writing to a live connection to this address.
    Connected(SocketAddr),
}

/// Where a node's peers were seen connecting from ([`PeerTransport::seen_at`]), for as
/// long as its transport runs; it does not keep the transport (or its port) alive.
#[derive(Clone)]
pub struct PeerLocator(Weak<Links>);

impl PeerLocator {
    /// Where node `id` was last seen connecting from; `None` if never, or once the
    /// node stopped.
    pub fn seen_at(&self, id: NodeId) -> Option<SocketAddr> {
        let links = self.0.upgrade()?;
        PeerTransport { inner: links }.seen_at(id)
    }
}

impl PeerTransport {
    pub fn new(
        me: NodeId,
        endpoint: quinn::Endpoint,
        runtime: tokio::runtime::Handle,
        addresses: FxHashMap<NodeId, String>,
        voters: Voters,
    ) -> PeerTransport {
        PeerTransport {
            inner: Arc::new(Links {
                me,
                incarnation: rand::random(),
                endpoint,
                runtime,
                addresses: Arc::new(Addresses {
                    configured: Mutex::new(addresses),
                    heard: Mutex::default(),
                }),
                links: Mutex::new(FxHashMap::default()),
                routes: Arc::default(),
                voters,
                inbox: OnceLock::new(),
            }),
        }
    }

    /// Connects the transport to its node's inbox (once the node is spawned).
    pub fn set_inbox(&self, inbox: InboxSender<Input>) {
        let _ = self.inbox_cell().set(inbox);
    }

    fn inbox_cell(&self) -> &OnceLock<InboxSender<Input>> {
        &self.inner.inbox
    }

    /// Reach node `id` at `address` from now on, unless its own connections tell
    /// otherwise (see [`PeerTransport::heard_from`]).
    pub fn set_address(&self, id: NodeId, address: String) {
        lock(&self.inner.addresses.configured).insert(id, address);
    }

    /// The ledger registered node `id` at `address` (from now on, or again): reach it
    /// there. A node that starts or stops dialling out gets a link of the other kind at
    /// once (one that dials it, or one that answers on its connections); otherwise a
    /// link to it dials the new address now. Nothing happens if the address is the one
    /// already known.
    pub fn readdress(&self, id: NodeId, address: String) {
        let routed = address == DIALS_OUT;
        let was = lock(&self.inner.addresses.configured).insert(id, address.clone());
        if was.as_deref() == Some(address.as_str()) {
            return;
        }
        let was_routed = was.as_deref() == Some(DIALS_OUT);
        if was.is_some() && was_routed != routed {
            if !routed {
                self.inner.routes.forget(id);
            }
            // The old link's task ends when its queue's last sender (here) is dropped.
            let replaced = lock(&self.inner.links).remove(&id).is_some();
            if replaced {
                let _ = self.inner.link(id);
            }
            tracing::info!(peer = id, %address, routed, "the peer's registration changed how it is reached");
        } else if let Some(link) = lock(&self.inner.links).get(&id) {
            link.control.redial.notify_one();
        }
    }

    /// Where node `id` was last seen connecting from: its route if it dials out, else
    /// what its own connections told (see [`PeerTransport::heard_from`]).
    pub fn seen_at(&self, id: NodeId) -> Option<SocketAddr> {
        if let Some(route) = self.inner.routes.current(id) {
            return Some(canonical(route.remote_address()));
        }
        lock(&self.inner.addresses.heard)
            .get(&id)
            .map(|heard| heard.address)
    }

    /// A view of where peers were seen that does not keep the transport alive.
    pub fn locator(&self) -> PeerLocator {
        PeerLocator(Arc::downgrade(&self.inner))
    }

    /// Stops reaching node `id` (removed from the game): forgets its addresses and its
    /// route and drops its link, whose task then ends. Returns whether an address was
    /// known.
    pub fn forget(&self, id: NodeId) -> bool {
        lock(&self.inner.links).remove(&id);
        self.inner.routes.forget(id);
        lock(&self.inner.addresses.heard).remove(&id);
        lock(&self.inner.addresses.configured).remove(&id).is_some()
    }

    /// Node `id`'s own connection to this node says it is at `address`, and (when a
    /// message stream of it opened) that it is incarnation `incarnation`. Dial it there
    /// from now on; and if it restarted, or moved, or the link to it is waiting to dial
    /// again, drop what the link holds and dial now. Call it only with what an
    /// authenticated connection of `id` shows.
    pub fn heard_from(&self, id: NodeId, incarnation: Option<u64>, address: SocketAddr) {
        let address = canonical(address);
        match lock(&self.inner.addresses.configured).get(&id) {
            None => return, // Removed from the game (or never in it): never dialled again.
            Some(configured) if configured == DIALS_OUT => return, // Never dialled.
            Some(_) => {}
        }
        let before = {
            let mut heard = lock(&self.inner.addresses.heard);
            let before = heard.get(&id).copied();
            let incarnation = incarnation.or(before.and_then(|b| b.incarnation));
            heard.insert(
                id,
                Heard {
                    incarnation,
                    address,
                },
            );
            before
        };
        let links = lock(&self.inner.links);
        let Some(link) = links.get(&id) else {
            return; // Nothing sent to it yet: the first dial goes to where it is.
        };
        let phase = *lock(&link.control.phase);
        let before = before.and_then(|b| b.incarnation);
        if let Some(why) = redial_for(before, incarnation, phase, address) {
            tracing::debug!(peer = id, why, ?phase, %address, "dialling the peer again now");
            link.control.redial.notify_one();
        }
    }

    /// Keeps a link to each of `ids` (but this node), connected even with nothing to
    /// send, its message stream open: what a node that dials out does with the voters,
    /// so they reach it on its own connections.
    pub fn hold(&self, ids: &[NodeId]) {
        for &id in ids.iter().filter(|&&id| id != self.inner.me) {
            let _ = self.inner.link(id);
        }
    }

    /// Node `from`'s authenticated connection to this node: if `from` dials out, its
    /// link writes there from now on (a newer connection of it wins: a laptop that
    /// reconnected from a new address).
    fn route_from(&self, from: NodeId, connection: &quinn::Connection) {
        if !self.inner.addresses.dials_out(from) {
            return;
        }
        if !self.inner.routes.record(from, connection) {
            if NET_LOG.allow("too many routes") {
                tracing::warn!(
                    peer = from,
                    limit = MAX_ROUTES,
                    "too many nodes dial out to this one; not answering this one"
                );
            }
            return;
        }
        if let Some(link) = lock(&self.inner.links).get(&from) {
            link.control.redial.notify_one();
        }
    }

    /// Whether this node's link to node `id` holds a live connection now.
    pub fn is_connected(&self, id: NodeId) -> bool {
        lock(&self.inner.links)
            .get(&id)
            .is_some_and(|link| matches!(*lock(&link.control.phase), Phase::Connected(_)))
    }

    /// Reach node `id` at `address` from now on, and dial it there now (a peer that
    /// moved, found again by other means than its own connections).
    pub fn move_to(&self, id: NodeId, address: String) {
        self.set_address(id, address);
        if let Some(link) = lock(&self.inner.links).get(&id) {
            link.control.redial.notify_one();
        }
    }

    /// Whether a link to node `id` is running.
    #[cfg(test)]
    pub(super) fn has_link(&self, id: NodeId) -> bool {
        lock(&self.inner.links)
            .get(&id)
            .is_some_and(|link| !link.queue.is_closed())
    }

    /// This transport's incarnation (what its message streams open with).
    pub fn incarnation(&self) -> u64 {
        self.inner.incarnation
    }
}

/// Why a link in `phase` must drop what it holds and dial now, when its peer's
/// connection shows `address` and (if a message stream opened) `incarnation`, after
/// `before`; `None` when the link is right as it is.
fn redial_for(
    before: Option<u64>,
    incarnation: Option<u64>,
    phase: Phase,
    address: SocketAddr,
) -> Option<&'static str> {
    if matches!((before, incarnation), (Some(old), Some(new)) if old != new) {
        return Some("the peer restarted");
    }
    match phase {
        // A dial in progress goes on: if it is to the wrong place, it fails within
        // `PEER_DIAL_TIMEOUT` and the next dial goes to where the peer is.
        Phase::Dialling => None,
        Phase::Waiting => Some("the peer is back"),
        Phase::Connected(to) if to != address => Some("the peer moved"),
        Phase::Connected(_) => None,
    }
}

/// `address` with an IPv4-mapped IPv6 address written as IPv4, so the same peer compares
/// equal however the socket reports it.
fn canonical(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(address.ip().to_canonical(), address.port())
}

impl Links {
    fn report(&self, input: Input) {
        if let Some(inbox) = self.inbox.get() {
            let _ = inbox.send(input);
        }
    }

    fn link(self: &Arc<Self>, to: NodeId) -> Option<mpsc::Sender<PeerMessage>> {
        let mut links = lock(&self.links);
        if let Some(link) = links.get(&to)
            && !link.queue.is_closed()
        {
            return Some(link.queue.clone());
        }
        if !lock(&self.addresses.configured).contains_key(&to) {
            if NET_LOG.allow("no peer address") {
                tracing::warn!(
                    peer = to,
                    "no address known for this node; dropping its messages"
                );
            }
            return None;
        }
        let routed = self.addresses.dials_out(to);
        let (sender, receiver) = mpsc::channel(LINK_QUEUE);
        let control = Arc::new(LinkControl::default());
        links.insert(
            to,
            LinkHandle {
                queue: sender.clone(),
                control: control.clone(),
            },
        );
        // The link task holds no reference to the transport: when the transport is
        // dropped, the queue's sender goes with it and the task ends.
        let link = Link {
            to,
            incarnation: self.incarnation,
            endpoint: self.endpoint.clone(),
            addresses: self.addresses.clone(),
            routed,
            routes: self.routes.clone(),
            voters: self.voters.clone(),
            transport: Arc::downgrade(self),
            control,
            inbox: self.inbox.get().cloned(),
            runtime: self.runtime.clone(),
        };
        self.runtime.spawn(link.run(receiver));
        Some(sender)
    }
}

/// The task that keeps one peer's connection and writes its queue.
#[derive(Clone)]
struct Link {
    to: NodeId,
    incarnation: u64,
    endpoint: quinn::Endpoint,
    addresses: Arc<Addresses>,
    /// The peer dials out: the link writes on the peer's own connection (its route)
    /// instead of dialling.
    routed: bool,
    routes: Arc<Routes>,
    voters: Voters,
    /// For what the peer's streams on a dialled connection show (never keeps the
    /// transport alive).
    transport: Weak<Links>,
    control: Arc<LinkControl>,
    inbox: Option<InboxSender<Input>>,
    runtime: tokio::runtime::Handle,
}

/// Why a link stopped using a connection.
enum Ended {
    /// The transport is gone: the task ends.
    Closed,
    /// The connection failed.
    Lost(String),
    /// The peer restarted or moved: dial again now.
    Superseded,
}

impl Link {
    fn set_phase(&self, phase: Phase) {
        *lock(&self.control.phase) = phase;
    }

    fn report(&self, input: Input) {
        if let Some(inbox) = &self.inbox {
            let _ = inbox.send(input);
        }
    }

    /// Writes the peer's queued messages until the transport is dropped: on a
    /// connection the link keeps to the peer, or on the peer's own if it dials out.
    async fn run(self, queue: mpsc::Receiver<PeerMessage>) {
        if self.routed {
            self.answer_on_routes(queue).await
        } else {
            self.dial_and_write(queue).await
        }
    }

    /// Writes the queue on the newest connection of a peer that dials out, waiting for
    /// one while there is none, and moving to a newer one when it comes.
    async fn answer_on_routes(self, mut queue: mpsc::Receiver<PeerMessage>) {
        let to = self.to;
        loop {
            let Some(connection) = self.routes.current(to) else {
                self.set_phase(Phase::Waiting);
                self.report(Input::Unreachable(to));
                // What queued meanwhile is stale: Raft resends what matters.
                if !self.discard_queued(to, &mut queue) {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(ROUTE_WAIT) => {}
                    () = self.control.redial.notified() => {}
                }
                continue;
            };
            self.set_phase(Phase::Connected(canonical(connection.remote_address())));
            let ended = tokio::select! {
                ended = self.pump(to, &connection, &mut queue) => ended,
                () = self.control.redial.notified() => Ended::Superseded,
            };
            match ended {
                Ended::Closed => return,
                Ended::Lost(reason) => {
                    tracing::info!(peer = to, %reason, "lost the connection of a peer that dials out; waiting for it");
                    self.report(Input::Unreachable(to));
                }
                Ended::Superseded => {
                    tracing::debug!(peer = to, "the peer connected again; answering there");
                }
            }
        }
    }

    /// Keeps a connection to the peer and writes its queued messages, until the
    /// transport is dropped.
    async fn dial_and_write(self, mut queue: mpsc::Receiver<PeerMessage>) {
        let to = self.to;
        let mut backoff = BACKOFF_MIN;
        loop {
            self.set_phase(Phase::Dialling);
            // A wake-up during the dial (the peer restarted meanwhile) dials again.
            let connection = tokio::select! {
                dialled = self.dial(to) => dialled,
                () = self.control.redial.notified() => continue,
            };
            let connection = match connection {
                Ok(connection) => {
                    backoff = BACKOFF_MIN;
                    connection
                }
                Err(reason) => {
                    tracing::debug!(peer = to, %reason, ?backoff, "cannot reach peer; retrying");
                    self.report(Input::Unreachable(to));
                    // What queued meanwhile is stale: Raft resends what matters.
                    if !self.discard_queued(to, &mut queue) {
                        return;
                    }
                    self.set_phase(Phase::Waiting);
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = self.control.redial.notified() => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            let since = tokio::time::Instant::now();
            self.read_streams_on(&connection);
            self.set_phase(Phase::Connected(canonical(connection.remote_address())));
            let ended = tokio::select! {
                ended = self.pump(to, &connection, &mut queue) => ended,
                () = self.control.redial.notified() => Ended::Superseded,
            };
            self.set_phase(Phase::Dialling);
            match ended {
                Ended::Closed => {
                    // Its reader ends with it.
                    connection.close(0u32.into(), b"transport closed");
                    return;
                }
                Ended::Lost(reason) => {
                    tracing::info!(peer = to, %reason, "lost the connection to peer; reconnecting");
                    connection.close(0u32.into(), b"reconnecting");
                    self.report(Input::Unreachable(to));
                }
                Ended::Superseded => {
                    tracing::info!(peer = to, "peer restarted or moved; reconnecting now");
                    connection.close(0u32.into(), b"replaced");
                    tokio::time::sleep_until(since + MIN_REPLACE_INTERVAL).await;
                }
            }
        }
    }

    /// Reads the streams the peer opens on `connection`, which this link dialled, as
    /// [`serve_peer`] reads an incoming connection's: the peer's key was checked in the
    /// handshake, so what arrives is the peer's. How voters answer a node that dials out.
    fn read_streams_on(&self, connection: &quinn::Connection) {
        let Some(inbox) = self.inbox.clone() else {
            return; // No node to hand messages to: the peer may open no streams.
        };
        grant_streams(connection, Alpn::Peer);
        let peer = RemotePeer {
            id: self.to,
            connection: connection.clone(),
            transport: self.transport.clone(),
        };
        self.runtime
            .spawn(read_streams(peer, inbox, self.voters.clone()));
    }

    /// Dials the peer where its own connections last came from, else (or if that fails)
    /// at its configured address.
    async fn dial(&self, to: NodeId) -> Result<quinn::Connection, String> {
        let heard = lock(&self.addresses.heard).get(&to).map(|h| h.address);
        let configured = lock(&self.addresses.configured).get(&to).cloned();
        let mut failures = Vec::new();
        if let Some(addr) = heard {
            match connect_within(&self.endpoint, addr, PEER_ALPN, Some(to), PEER_DIAL_TIMEOUT).await
            {
                Ok(connection) => return Ok(connection),
                Err(err) => failures.push(err.to_string()),
            }
        }
        match configured {
            Some(address) => {
                let addr = tokio::net::lookup_host(&address)
                    .await
                    .map_err(|e| format!("cannot resolve {address}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("{address} resolves to nothing"))?;
                if Some(canonical(addr)) == heard {
                    return Err(failures.join("; "));
                }
                connect_within(&self.endpoint, addr, PEER_ALPN, Some(to), PEER_DIAL_TIMEOUT)
                    .await
                    .map_err(|e| {
                        failures.push(e.to_string());
                        failures.join("; ")
                    })
            }
            None if failures.is_empty() => Err("no address".to_string()),
            None => Err(failures.join("; ")),
        }
    }

    /// Drops what is queued; false when the transport is gone.
    fn discard_queued(&self, to: NodeId, queue: &mut mpsc::Receiver<PeerMessage>) -> bool {
        loop {
            match queue.try_recv() {
                Ok(message) => {
                    if is_snapshot(&message) {
                        self.report(Input::SnapshotReport {
                            peer: to,
                            delivered: false,
                        });
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => return true,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Writes queued messages on one stream until the queue closes or the connection
    /// fails.
    async fn pump(
        &self,
        to: NodeId,
        connection: &quinn::Connection,
        queue: &mut mpsc::Receiver<PeerMessage>,
    ) -> Ended {
        let lost = |e: &dyn std::fmt::Display| Ended::Lost(e.to_string());
        let mut stream = match connection.open_uni().await {
            Ok(stream) => stream,
            Err(e) => return lost(&e),
        };
        let hello = StreamKind::Messages {
            incarnation: self.incarnation,
        };
        if let Err(e) = write_frame(&mut stream, &hello, MAX_PEER_FRAME).await {
            return lost(&e);
        }
        loop {
            // A connection that closes is noticed at once, even with nothing to send (a
            // held link must reconnect for its peer to reach this node again).
            let message = tokio::select! {
                message = queue.recv() => message,
                err = connection.closed() => return lost(&err),
            };
            let Some(message) = message else {
                break;
            };
            if is_snapshot(&message) {
                self.spawn_snapshot(to, connection.clone(), message);
                continue;
            }
            if let Err(e) = write_frame(&mut stream, &message, MAX_PEER_FRAME).await {
                return lost(&e);
            }
        }
        let _ = stream.finish();
        Ended::Closed
    }

    fn spawn_snapshot(&self, to: NodeId, connection: quinn::Connection, message: PeerMessage) {
        let PeerMessage::Raft(wire) = message else {
            return;
        };
        let this = self.clone();
        self.runtime.spawn(async move {
            let sent = async {
                let mut stream = connection.open_uni().await.map_err(|e| e.to_string())?;
                write_frame(&mut stream, &StreamKind::Snapshot, MAX_PEER_FRAME)
                    .await
                    .map_err(|e| e.to_string())?;
                write_snapshot(&mut stream, *wire, SNAPSHOT_CHUNK)
                    .await
                    .map_err(|e| e.to_string())?;
                stream.finish().map_err(|e| e.to_string())?;
                stream.stopped().await.map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            }
            .await;
            if let Err(reason) = &sent {
                tracing::warn!(peer = to, %reason, "sending a snapshot failed");
            }
            this.report(Input::SnapshotReport {
                peer: to,
                delivered: sent.is_ok(),
            });
        });
    }
}

impl Transport for PeerTransport {
    fn send(&self, from: NodeId, to: NodeId, message: PeerMessage) {
        debug_assert_eq!(from, self.inner.me);
        let links = &self.inner;
        let Some(link) = links.link(to) else {
            return;
        };
        if let Err(err) = link.try_send(message) {
            let message = match err {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => m,
            };
            if is_snapshot(&message) {
                links.report(Input::SnapshotReport {
                    peer: to,
                    delivered: false,
                });
            }
            tracing::debug!(peer = to, "peer queue full; dropping a message");
        }
    }
}

/// Holds a reader to `per_second` messages a second: each message takes a slot, and once
/// a second's worth are taken the reader waits for the second to pass.
struct Pace {
    per_second: u32,
    taken: u32,
    since: tokio::time::Instant,
}

impl Pace {
    fn new(per_second: u32) -> Pace {
        Pace {
            per_second: per_second.max(1),
            taken: 0,
            since: tokio::time::Instant::now(),
        }
    }

    /// Takes `count` slots (at least one), waiting out the second once they are spent
    /// (a whole second per second's worth, for a large `count`).
    async fn take(&mut self, count: usize) {
        let count = u32::try_from(count).unwrap_or(u32::MAX).max(1);
        self.taken = self.taken.saturating_add(count);
        if self.taken < self.per_second {
            return;
        }
        let seconds = u64::from(self.taken / self.per_second);
        let next = self.since + Duration::from_secs(seconds);
        tokio::time::sleep_until(next).await;
        self.since = tokio::time::Instant::now();
        self.taken %= self.per_second;
    }
}

fn is_snapshot(message: &PeerMessage) -> bool {
    matches!(message, PeerMessage::Raft(m) if m.msg_type == WireMessageType::MsgSnapshot)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The most bytes in one frame from a node that is not a voter: it legitimately sends
/// only answers to appends and heartbeats (tiny) and its clients' transactions, which a
/// node forwards in messages of at most `MAX_FORWARD_BYTES` (1 MiB). A learner is
/// untrusted, so it may not make a voter hold an 8 MiB frame per stream.
pub const MAX_LEARNER_FRAME: usize = 2 << 20;

/// Messages per second a node that is not a voter may send on a stream, sustained, each
/// forwarded transaction (or refusal) counting as one, before this node stops reading the
/// stream for a while (QUIC then holds the sender back): an honest learner answers a
/// leader's appends and heartbeats (at most a few hundred a second) and forwards its
/// owner's transactions, a few a second. Counting transactions bounds the signatures a
/// learner can make the leader check, whatever it puts in a forward.
pub const LEARNER_MESSAGES_PER_SECOND: u32 = 2_000;

/// The current voters, as this node knows them: who may send snapshots and large
/// frames. Cheap to clone; clones share it. The network follower keeps it in step with
/// the membership.
#[derive(Clone, Debug, Default)]
pub struct Voters {
    ids: Arc<std::sync::RwLock<Vec<NodeId>>>,
}

impl Voters {
    pub fn new(ids: Vec<NodeId>) -> Voters {
        let voters = Voters::default();
        voters.set(ids);
        voters
    }

    pub fn set(&self, ids: Vec<NodeId>) {
        *self.ids.write().unwrap_or_else(|p| p.into_inner()) = ids;
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&id)
    }
}

/// Reads every stream node `from` opens on `connection`, handing its messages to
/// `inbox`, until the connection closes. A node that is not a voter is held to what a
/// learner sends: no snapshots, frames of at most [`MAX_LEARNER_FRAME`], and at most
/// [`LEARNER_MESSAGES_PER_SECOND`] messages a second on each stream. What the connection
/// shows of the peer (its incarnation, where it comes from) goes to `transport`, so the
/// link to the peer follows it; and if the peer dials out, the link writes on this
/// connection while it is the peer's newest.
pub async fn serve_peer(
    connection: quinn::Connection,
    from: NodeId,
    inbox: InboxSender<Input>,
    voters: Voters,
    transport: PeerTransport,
) {
    transport.heard_from(from, None, connection.remote_address());
    transport.route_from(from, &connection);
    let peer = RemotePeer {
        id: from,
        connection: connection.clone(),
        transport: Arc::downgrade(&transport.inner),
    };
    tokio::select! {
        () = read_streams(peer, inbox, voters) => {}
        () = follow_address(&connection, from, &transport) => {}
    }
    transport.inner.routes.withdraw(from, &connection);
}

/// Tells `transport` where peer `from` is whenever its `connection` moves. QUIC follows
/// a peer whose address changes (a laptop's new DHCP lease) on the connection it
/// dialled; the link back to it must follow too. Never returns.
async fn follow_address(connection: &quinn::Connection, from: NodeId, transport: &PeerTransport) {
    let mut address = connection.remote_address();
    let mut watch = tokio::time::interval(ADDRESS_CHECK);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        watch.tick().await;
        let now = connection.remote_address();
        if now != address {
            tracing::info!(peer = from, was = %address, now = %now, "peer moved");
            address = now;
            transport.heard_from(from, None, address);
        }
    }
}

/// Reads every stream `peer` opens on its connection (at most
/// [`super::tls::MAX_PEER_STREAMS`] at once), each on a task of its own, until the
/// connection closes.
async fn read_streams(peer: RemotePeer, inbox: InboxSender<Input>, voters: Voters) {
    let from = peer.id;
    let peer = Arc::new(peer);
    loop {
        let mut stream = match peer.connection.accept_uni().await {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(peer = from, %err, "peer connection closed");
                return;
            }
        };
        let inbox = inbox.clone();
        let voters = voters.clone();
        let peer = peer.clone();
        tokio::spawn(async move {
            match read_peer_stream(&mut stream, &peer, &inbox, &voters).await {
                Ok(()) => {}
                // The connection went away (the peer stopped or restarted).
                Err(
                    err @ (FrameError::Io(_)
                    | FrameError::TruncatedLength { .. }
                    | FrameError::TruncatedBody { .. }
                    | FrameError::SnapshotTruncated { .. }),
                ) => {
                    if NET_LOG.allow("peer stream ended") {
                        tracing::debug!(peer = from, reason = %err.reason(), "peer stream ended");
                    }
                }
                Err(err) => {
                    if NET_LOG.allow("bad peer stream") {
                        tracing::warn!(peer = from, reason = %err.reason(), "closing a bad peer stream");
                    }
                    let _ = stream.stop(err.code().into());
                }
            }
        });
    }
}

/// The node at the other end of a peer connection (whichever side dialled), as its TLS
/// key shows.
struct RemotePeer {
    id: NodeId,
    connection: quinn::Connection,
    transport: Weak<Links>,
}

impl RemotePeer {
    /// Tells the transport the peer's incarnation, and where it is now.
    fn heard(&self, incarnation: u64) {
        let Some(inner) = self.transport.upgrade() else {
            return;
        };
        let address = self.connection.remote_address();
        PeerTransport { inner }.heard_from(self.id, Some(incarnation), address);
    }
}

async fn read_peer_stream(
    stream: &mut quinn::RecvStream,
    peer: &RemotePeer,
    inbox: &InboxSender<Input>,
    voters: &Voters,
) -> Result<(), FrameError> {
    let from = peer.id;
    let Some(kind) =
        read_frame_within::<_, StreamKind>(stream, MAX_PEER_FRAME, FRAME_DEADLINE).await?
    else {
        return Ok(());
    };
    match kind {
        StreamKind::Messages { incarnation } => {
            peer.heard(incarnation);
            let mut pace = Pace::new(LEARNER_MESSAGES_PER_SECOND);
            loop {
                let voter = voters.contains(from);
                let max = if voter {
                    MAX_PEER_FRAME
                } else {
                    MAX_LEARNER_FRAME
                };
                let Some(message) =
                    read_frame_within::<_, PeerMessage>(stream, max, FRAME_DEADLINE).await?
                else {
                    break;
                };
                let weight = match &message {
                    PeerMessage::Forward(txs) => txs.len(),
                    PeerMessage::Refused(refusals) => refusals.len(),
                    PeerMessage::Raft(_) => 1,
                };
                if inbox.send(Input::Peer { from, message }).is_err() {
                    return Ok(());
                }
                if !voter {
                    pace.take(weight).await;
                }
            }
        }
        StreamKind::Snapshot if !voters.contains(from) => {
            return Err(FrameError::Refused(
                "only a voter sends snapshots; this node is not one",
            ));
        }
        StreamKind::Snapshot => {
            let message = read_snapshot(stream, MAX_SNAPSHOT).await?;
            let _ = inbox.send(Input::Peer {
                from,
                message: PeerMessage::Raft(Box::new(message)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_paced_reader_takes_its_rate_and_no_more() {
        let mut pace = Pace::new(10);
        let start = tokio::time::Instant::now();
        for _ in 0..9 {
            pace.take(1).await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "within the second's allowance"
        );
        for _ in 0..21 {
            pace.take(1).await;
        }
        // Thirty messages at ten a second: the reader waited for three seconds to pass.
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(
            start.elapsed() <= Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        // A forward of fifty transactions weighs fifty messages: five seconds' worth.
        let before = tokio::time::Instant::now();
        pace.take(50).await;
        assert!(
            before.elapsed() >= Duration::from_secs(4),
            "{:?}",
            before.elapsed()
        );
    }

    #[test]
    fn a_link_is_dialled_again_when_its_peer_restarts_moves_or_comes_back() {
        let here: SocketAddr = "10.0.0.4:7801".parse().unwrap();
        let there: SocketAddr = "10.0.0.14:7801".parse().unwrap();
        let connected = Phase::Connected(here);
        // The same incarnation at the same address: nothing to do.
        assert_eq!(redial_for(Some(1), Some(1), connected, here), None);
        assert_eq!(redial_for(Some(1), None, connected, here), None);
        // A new incarnation: the link's connection is to a dead process.
        assert!(redial_for(Some(1), Some(2), connected, here).is_some());
        assert!(redial_for(Some(1), Some(2), Phase::Dialling, here).is_some());
        // First heard of: whatever it says is its first incarnation.
        assert_eq!(redial_for(None, Some(7), connected, here), None);
        // Moved: the link writes to where the peer no longer is.
        assert!(redial_for(Some(1), Some(1), connected, there).is_some());
        assert!(redial_for(None, None, connected, there).is_some());
        // Back while the link waits out a backoff: dial now.
        assert!(redial_for(Some(1), None, Phase::Waiting, here).is_some());
        // A dial in progress is left to finish.
        assert_eq!(redial_for(Some(1), None, Phase::Dialling, there), None);
    }

    #[test]
    fn mapped_ipv6_addresses_compare_equal_to_ipv4() {
        let mapped: SocketAddr = "[::ffff:10.0.0.4]:7801".parse().unwrap();
        let plain: SocketAddr = "10.0.0.4:7801".parse().unwrap();
        assert_eq!(canonical(mapped), plain);
        assert_eq!(canonical(plain), plain);
    }

    #[test]
    fn only_the_registered_address_dials_out() {
        let addresses = Addresses::default();
        lock(&addresses.configured).insert(2, "10.0.0.2:7801".into());
        lock(&addresses.configured).insert(4, DIALS_OUT.into());
        assert!(!addresses.dials_out(2));
        assert!(addresses.dials_out(4));
        assert!(
            !addresses.dials_out(5),
            "an unknown node is not reached at all"
        );
    }

    #[test]
    fn voters_are_shared_between_clones() {
        let voters = Voters::new(vec![1, 2, 3]);
        let seen = voters.clone();
        assert!(seen.contains(2) && !seen.contains(4));
        voters.set(vec![1, 2, 4]);
        assert!(seen.contains(4) && !seen.contains(3));
    }
}
