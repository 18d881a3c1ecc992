//! Starting a node: a [`Replica`] on its own thread ([`RunningNode`]), and the [`Handle`]
//! that reaches it. The runner reports to the handle through
//! [`EventSink`], so `io` never names `api`.

use std::sync::Arc;
use std::time::Duration;

use crate::io::inbox::{CLIENT_QUEUE, inboxes};
use crate::io::runner::{EventSink, RunningNode, Transport};
use crate::replica::{Replica, ReplicaEvent};

use super::handle::Handle;

/// Starts `replica` on a new thread, with a client inbox of
/// [`CLIENT_QUEUE`], and returns its handle and the
/// thread. A submission waits at most `submit_timeout` for its receipt.
pub fn start(
    replica: Replica,
    transport: Arc<dyn Transport>,
    submit_timeout: Duration,
) -> std::io::Result<(Handle, RunningNode)> {
    let (control, clients, receiver) = inboxes(CLIENT_QUEUE);
    let reader = replica.store().reader();
    let handle = Handle::new(
        replica.id(),
        control.clone(),
        clients,
        reader,
        submit_timeout,
    );
    let node = RunningNode::spawn(replica, transport, control, receiver, handle.clone())?;
    Ok((handle, node))
}

impl EventSink for Handle {
    fn dispatch(&self, event: ReplicaEvent) {
        Handle::dispatch(self, event);
    }

    fn stopped(&self) {
        self.mark_stopped();
    }
}
