//! The client side of the protocol: what the CLI, `session --jsonl` and bots use to
//! talk to a node over QUIC as a participant.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use qraft_keys::{Keypair, PublicKey};

use crate::core::genesis::{Genesis, NodeSpec};
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use super::frame::{FrameError, MAX_CLIENT_REQUEST, MAX_CLIENT_RESPONSE, read_frame, write_frame};
use super::proto::{
    CommittedView, Event, PipelineFailure, ProtocolError, Request, Response, SubmitFailure,
    SubmitOutcome, Topics,
};
use super::tls::{Allowlist, CLIENT_ALPN, TlsError, TlsIdentity, client_endpoint, connect};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("cannot reach any node of the game ({0})")]
    Unreachable(String),
    #[error("the connection failed: {0}")]
    Connection(String),
    #[error("bad frame from the node: {0}")]
    Frame(#[from] FrameError),
    #[error("the node closed the stream without answering")]
    NoAnswer,
    #[error("{0}")]
    Refused(#[from] ProtocolError),
    #[error("{0}")]
    Submit(#[from] SubmitFailure),
    #[error("unexpected answer from the node: {0}")]
    Unexpected(String),
}

/// A participant's connection to one node.
pub struct Client {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    keypair: Keypair,
    node: SocketAddr,
    /// The `host:port` this client was asked to connect to.
    address: String,
}

impl Client {
    /// Connects as `keypair` to the first node of `nodes` that answers (each is
    /// `host:port`), checking that it is a node of `genesis`.
    ///
    /// A name that resolves to several addresses (IPv6 and IPv4) is dialed at all of them
    /// at once, and the first to answer wins; each address is dialed from an endpoint of
    /// its own family (`[::]:0` for IPv6, `0.0.0.0:0` for IPv4).
    pub async fn connect(
        genesis: &Genesis,
        keypair: Keypair,
        nodes: &[String],
    ) -> Result<Client, ClientError> {
        Client::connect_trusting(genesis, &[], keypair, nodes).await
    }

    /// [`Client::connect`], also trusting the `registered` nodes (registered on the chain
    /// after its genesis, as a node of the caller's own knows them) to be nodes of the
    /// game.
    pub async fn connect_trusting(
        genesis: &Genesis,
        registered: &[NodeSpec],
        keypair: Keypair,
        nodes: &[String],
    ) -> Result<Client, ClientError> {
        let identity = TlsIdentity::from_keypair(&keypair)?;
        let allow = Allowlist::from_genesis(genesis);
        for node in registered {
            allow.allow_node(node.id, node.key);
        }
        let mut endpoints = Endpoints::new(identity, allow);
        let mut failures = Vec::new();
        for address in nodes {
            let addrs = match tokio::net::lookup_host(address.as_str()).await {
                Ok(addrs) => addrs.collect::<Vec<_>>(),
                Err(err) => {
                    failures.push(format!("{address}: {err}"));
                    continue;
                }
            };
            if addrs.is_empty() {
                failures.push(format!("{address}: resolves to nothing"));
                continue;
            }
            match dial_any(&mut endpoints, &addrs).await {
                Ok((endpoint, connection, addr)) => {
                    return Ok(Client {
                        endpoint,
                        connection,
                        keypair,
                        node: addr,
                        address: address.clone(),
                    });
                }
                // Refused for who we are: another node will refuse too.
                Err(err @ TlsError::Refused { .. }) => return Err(ClientError::Tls(err)),
                Err(err) => failures.push(format!("{address}: {err}")),
            }
        }
        Err(ClientError::Unreachable(failures.join("; ")))
    }

    /// The genesis addresses of every node others can reach, voters first (a node that
    /// dials out has none).
    pub fn node_addresses(genesis: &Genesis) -> Vec<String> {
        genesis
            .nodes()
            .filter(|n| !n.dials_out())
            .map(|n| n.address.clone())
            .collect()
    }

    pub fn key(&self) -> PublicKey {
        self.keypair.public()
    }

    pub fn node(&self) -> SocketAddr {
        self.node
    }

    /// The node's address as it was given to [`Client::connect`] (`host:port`, as in
    /// the genesis).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the connection has closed (either side, the idle timeout, or
    /// [`Client::abandon`]): every request on it fails from now on.
    pub fn is_closed(&self) -> bool {
        self.connection.close_reason().is_some()
    }

    /// Closes the connection at once, without waiting: every request, subscription and
    /// pipeline still waiting on it fails now.
    pub fn abandon(&self, reason: &str) {
        self.connection.close(0u32.into(), reason.as_bytes());
    }

    /// Resolves when the connection is lost: closed (by either side, or by QUIC's idle
    /// timeout), or nothing heard from the node for `quiet`. A node killed outright sends
    /// no close, and QUIC notices only after its idle timeout ([`IDLE_TIMEOUT`]), so every
    /// `every` this checks whether the node sent anything since the last look, and when
    /// it did not, asks its status to give a live node something to answer. The
    /// connection is closed before this returns, so everything still waiting on it fails
    /// at once.
    ///
    /// [`IDLE_TIMEOUT`]: super::tls::IDLE_TIMEOUT
    pub async fn lost(&self, every: Duration, quiet: Duration) -> ClientError {
        let mut heard = self.connection.stats().udp_rx.datagrams;
        let mut heard_at = tokio::time::Instant::now();
        let mut probe: Option<tokio::task::JoinHandle<()>> = None;
        let reason = loop {
            tokio::select! {
                err = self.connection.closed() => break ClientError::Connection(err.to_string()),
                () = tokio::time::sleep(every) => {}
            }
            let now = self.connection.stats().udp_rx.datagrams;
            if now != heard {
                heard = now;
                heard_at = tokio::time::Instant::now();
                continue;
            }
            if heard_at.elapsed() >= quiet {
                break ClientError::Connection(format!(
                    "nothing heard from the node for {}s",
                    quiet.as_secs()
                ));
            }
            if probe.as_ref().is_none_or(|p| p.is_finished()) {
                let connection = self.connection.clone();
                probe = Some(tokio::spawn(async move {
                    let status = request_on(&connection, &Request::Status);
                    let _ = tokio::time::timeout(quiet, status).await;
                }));
            }
        };
        if let Some(probe) = probe {
            probe.abort();
        }
        tracing::debug!(node = %self.node, %reason, "connection lost");
        self.abandon("lost");
        reason
    }

    /// One request, one answer.
    pub async fn request(&self, request: &Request) -> Result<Response, ClientError> {
        request_on(&self.connection, request).await
    }

    /// The last nonce the game has applied from this client's key.
    pub async fn last_nonce(&self) -> Result<u64, ClientError> {
        match self.request(&Request::Account).await? {
            Response::Account(Some(account)) => Ok(account.last_nonce),
            Response::Account(None) => Err(ClientError::Refused(ProtocolError::Invalid(
                "this key is not a participant in this game".into(),
            ))),
            other => Err(unexpected(&other)),
        }
    }

    /// A transaction's receipt with the block it is in, if this node holds it.
    pub async fn committed(&self, hash: TxHash) -> Result<Option<CommittedView>, ClientError> {
        let found = match self.request(&Request::Receipt { hash }).await? {
            Response::Receipt(found) => found,
            other => return Err(unexpected(&other)),
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let (from, to) = (found.height, found.height);
        let block_hash = match self.request(&Request::Blocks { from, to }).await? {
            Response::Blocks(blocks) => blocks
                .into_iter()
                .find(|b| b.header.height == found.height)
                .map(|b| b.hash),
            other => return Err(unexpected(&other)),
        };
        let block_hash = block_hash.ok_or_else(|| {
            ClientError::Unexpected(format!(
                "a receipt in block {} but no such block",
                found.height
            ))
        })?;
        Ok(Some(CommittedView {
            height: found.height,
            block_hash,
            index: found.index,
            receipt: found.receipt,
        }))
    }

    /// Submits a signed transaction on a stream of its own; the receipt once applied.
    /// (Signing, nonces and retries are the client crate's: `qraft_client::session`.)
    pub async fn submit(&self, tx: SignedTx) -> Result<CommittedView, ClientError> {
        match self.request(&Request::Submit(tx)).await? {
            Response::Committed(committed) => Ok(committed),
            Response::SubmitFailed(failure) => Err(ClientError::Submit(failure)),
            other => Err(unexpected(&other)),
        }
    }

    /// Opens a subscription: events arrive from [`Subscription::next`].
    pub async fn subscribe(&self, topics: Topics) -> Result<Subscription, ClientError> {
        let (mut send, mut recv) = self
            .connection
            .open_bi()
            .await
            .map_err(|e| ClientError::Connection(e.to_string()))?;
        write_frame(&mut send, &Request::Subscribe(topics), MAX_CLIENT_REQUEST).await?;
        match read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE).await? {
            Some(Response::Subscribed) => Ok(Subscription { _send: send, recv }),
            Some(Response::Error(err)) => Err(ClientError::Refused(err)),
            Some(other) => Err(unexpected(&other)),
            None => Err(ClientError::NoAnswer),
        }
    }

    /// Opens a submission pipeline: many transactions in flight on one stream, reaching
    /// the node in the order they are submitted.
    pub async fn pipeline(&self) -> Result<Pipeline, ClientError> {
        let (mut send, mut recv) = self
            .connection
            .open_bi()
            .await
            .map_err(|e| ClientError::Connection(e.to_string()))?;
        write_frame(&mut send, &Request::Pipeline, MAX_CLIENT_REQUEST).await?;
        match read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE).await? {
            Some(Response::PipelineOpen) => {}
            Some(Response::Error(err)) => return Err(ClientError::Refused(err)),
            Some(other) => return Err(unexpected(&other)),
            None => return Err(ClientError::NoAnswer),
        }
        let waiting: Arc<StdMutex<Waiters>> = Arc::default();
        let reader_waiting = waiting.clone();
        let reader = tokio::spawn(async move {
            loop {
                let outcome = read_frame::<_, SubmitOutcome>(&mut recv, MAX_CLIENT_RESPONSE).await;
                let outcome = match outcome {
                    Ok(Some(outcome)) => outcome,
                    Ok(None) | Err(_) => break,
                };
                let senders = lock(&reader_waiting).by_hash.remove(&outcome.hash);
                for sender in senders.into_iter().flatten() {
                    let _ = sender.send(outcome.result.clone());
                }
            }
            // The stream ended: nobody still waiting will get an answer, and nobody may
            // wait from now on.
            let mut waiters = lock(&reader_waiting);
            waiters.ended = true;
            waiters.by_hash.clear();
        });
        Ok(Pipeline {
            send: tokio::sync::Mutex::new(send),
            waiting,
            reader,
        })
    }

    /// Closes the connection politely and waits (briefly) for the node to hear it.
    pub async fn close(self) {
        self.shutdown().await;
    }

    /// [`Client::close`] for a client that is shared.
    pub async fn shutdown(&self) {
        self.connection.close(0u32.into(), b"bye");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }

    /// Which node leads, according to the connected node.
    pub async fn leader(&self) -> Result<Option<NodeId>, ClientError> {
        match self.request(&Request::Status).await? {
            Response::Status(status) => Ok(status.leader),
            other => Err(unexpected(&other)),
        }
    }
}

/// Client endpoints, one per address family, made when first needed: a socket bound to
/// `0.0.0.0` cannot reach an IPv6 node, nor one bound to `[::]` (on every system) an
/// IPv4 one.
struct Endpoints {
    identity: TlsIdentity,
    allow: Allowlist,
    v4: Option<quinn::Endpoint>,
    v6: Option<quinn::Endpoint>,
}

impl Endpoints {
    fn new(identity: TlsIdentity, allow: Allowlist) -> Endpoints {
        Endpoints {
            identity,
            allow,
            v4: None,
            v6: None,
        }
    }

    /// The endpoint that dials `target`.
    fn for_target(&mut self, target: SocketAddr) -> Result<quinn::Endpoint, TlsError> {
        let slot = if target.is_ipv6() {
            &mut self.v6
        } else {
            &mut self.v4
        };
        if let Some(endpoint) = slot {
            return Ok(endpoint.clone());
        }
        let endpoint = client_endpoint(bind_address(target), &self.identity, self.allow.clone())?;
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }
}

/// Where a client endpoint that dials `target` binds: any port on the unspecified
/// address of the target's family.
pub fn bind_address(target: SocketAddr) -> SocketAddr {
    let ip: IpAddr = if target.is_ipv6() {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    SocketAddr::new(ip, 0)
}

/// Dials every one of `addrs` (one name's addresses) at once; the first handshake to
/// succeed wins. A refusal of this key wins too (every node would refuse it); otherwise
/// the first address's failure is reported.
async fn dial_any(
    endpoints: &mut Endpoints,
    addrs: &[SocketAddr],
) -> Result<(quinn::Endpoint, quinn::Connection, SocketAddr), TlsError> {
    let mut dials = tokio::task::JoinSet::new();
    let mut failures = Vec::new();
    for (order, &addr) in addrs.iter().enumerate() {
        match endpoints.for_target(addr) {
            Ok(endpoint) => {
                dials.spawn(async move {
                    let result = connect(&endpoint, addr, CLIENT_ALPN, None).await;
                    (order, addr, endpoint, result)
                });
            }
            Err(err) => failures.push((order, err)),
        }
    }
    while let Some(joined) = dials.join_next().await {
        let Ok((order, addr, endpoint, result)) = joined else {
            continue;
        };
        match result {
            Ok(connection) => return Ok((endpoint, connection, addr)),
            Err(err @ TlsError::Refused { .. }) => return Err(err),
            Err(err) => failures.push((order, err)),
        }
    }
    failures.sort_by_key(|(order, _)| *order);
    Err(failures
        .into_iter()
        .map(|(_, err)| err)
        .next()
        .unwrap_or_else(|| TlsError::Config("the dial tasks ended without an answer".into())))
}

/// One request on its own stream of `connection`, one answer.
async fn request_on(
    connection: &quinn::Connection,
    request: &Request,
) -> Result<Response, ClientError> {
    let (mut send, mut recv) = connection
        .open_bi()
        .await
        .map_err(|e| ClientError::Connection(e.to_string()))?;
    write_frame(&mut send, request, MAX_CLIENT_REQUEST).await?;
    let _ = send.finish();
    match read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE).await? {
        Some(Response::Error(err)) => Err(ClientError::Refused(err)),
        Some(response) => Ok(response),
        None => Err(ClientError::NoAnswer),
    }
}

fn unexpected(response: &Response) -> ClientError {
    let text = format!("{response:?}");
    ClientError::Unexpected(text.chars().take(120).collect())
}

/// A stream of events from a node.
pub struct Subscription {
    _send: quinn::SendStream,
    recv: quinn::RecvStream,
}

impl Subscription {
    /// The next event; `None` when the node closed the subscription.
    pub async fn next(&mut self) -> Result<Option<Event>, ClientError> {
        Ok(read_frame::<_, Event>(&mut self.recv, MAX_CLIENT_RESPONSE).await?)
    }
}

type OutcomeSender = oneshot::Sender<Result<CommittedView, PipelineFailure>>;

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Many submissions in flight on one stream, in order. Cheap to share (`&self`).
pub struct Pipeline {
    send: tokio::sync::Mutex<quinn::SendStream>,
    waiting: Arc<StdMutex<Waiters>>,
    reader: tokio::task::JoinHandle<()>,
}

/// Who waits for which transaction's outcome on a pipeline, and whether its reader has
/// ended (after which no outcome can arrive).
#[derive(Default)]
struct Waiters {
    by_hash: FxHashMap<TxHash, Vec<OutcomeSender>>,
    ended: bool,
}

/// The receipt of one pipelined submission, to await.
pub struct PendingReceipt {
    receiver: oneshot::Receiver<Result<CommittedView, PipelineFailure>>,
}

impl PendingReceipt {
    pub async fn wait(self) -> Result<CommittedView, ClientError> {
        match self.receiver.await {
            Ok(Ok(committed)) => Ok(committed),
            Ok(Err(PipelineFailure::Submit(failure))) => Err(ClientError::Submit(failure)),
            Ok(Err(PipelineFailure::Protocol(err))) => Err(ClientError::Refused(err)),
            Err(_) => Err(ClientError::NoAnswer),
        }
    }
}

impl Pipeline {
    /// Sends `tx` after every transaction submitted before it; the receipt comes later.
    pub async fn submit(&self, tx: &SignedTx) -> Result<PendingReceipt, ClientError> {
        let (sender, receiver) = oneshot::channel();
        let hash = tx.hash();
        {
            let mut waiters = lock(&self.waiting);
            if waiters.ended {
                return Err(ClientError::Connection(
                    "the node closed the submission pipeline".into(),
                ));
            }
            waiters.by_hash.entry(hash).or_default().push(sender);
        }
        let mut send = self.send.lock().await;
        // A failed write leaves its waiter behind until the reader, whose stream is broken
        // too, ends and clears them all; the receiver is dropped here, so nothing waits.
        write_frame(&mut *send, tx, MAX_CLIENT_REQUEST).await?;
        Ok(PendingReceipt { receiver })
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_binds_the_family_of_the_node_it_dials() {
        let v4: SocketAddr = "127.0.0.1:7801".parse().unwrap();
        let v6: SocketAddr = "[::1]:7801".parse().unwrap();
        assert_eq!(bind_address(v4), "0.0.0.0:0".parse().unwrap());
        assert_eq!(bind_address(v6), "[::]:0".parse().unwrap());
    }
}
