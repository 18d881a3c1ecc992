//! The class service of `qraft class`, for the teacher's Class panel: each new
//! [`ClassView`](qraft_client::class::ClassView) in as an [`Action::Class`], and the
//! panel's commands out without ever waiting (a full or closed channel comes back as an
//! [`Action::ClassUnsent`]).

use qraft_client::class::ClassCommand;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{Sender, UnboundedSender};
use tokio::task::JoinSet;

use crate::ClassLink;
use crate::action::Action;

/// The dashboard's end of the class service.
pub struct ClassFeed {
    commands: Sender<ClassCommand>,
    actions: UnboundedSender<Action>,
}

impl ClassFeed {
    /// Sends the class as it is now at once, then follows it on a task of `tasks`.
    pub fn start(
        link: ClassLink,
        actions: UnboundedSender<Action>,
        tasks: &mut JoinSet<()>,
    ) -> ClassFeed {
        let ClassLink { mut view, commands } = link;
        let now = view.borrow_and_update().clone();
        let _ = actions.send(Action::Class(now));
        let follower = actions.clone();
        tasks.spawn(async move {
            while view.changed().await.is_ok() {
                let now = view.borrow_and_update().clone();
                if follower.send(Action::Class(now)).is_err() {
                    return;
                }
            }
        });
        ClassFeed { commands, actions }
    }

    /// Hands `command` to the class service if it can take it now.
    pub fn send(&self, command: ClassCommand) {
        let (command, reason) = match self.commands.try_send(command) {
            Ok(()) => return,
            Err(TrySendError::Full(command)) => (command, "the class service is busy"),
            Err(TrySendError::Closed(command)) => (command, "the class service has stopped"),
        };
        let _ = self.actions.send(Action::ClassUnsent {
            command,
            reason: reason.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use qraft_client::class::ClassView;
    use tokio::sync::{mpsc, watch};

    use super::*;

    fn view(game: &str) -> ClassView {
        ClassView {
            game: game.into(),
            chain_prefix: "0123456789abcdef".into(),
            code: Some("42-tulip-maple".into()),
            addresses: Vec::new(),
            advertised: true,
            roster: Vec::new(),
            refused_attempts: 0,
            voters: Vec::new(),
            promotion: None,
        }
    }

    #[tokio::test]
    async fn views_come_in_and_commands_go_out_without_waiting() {
        let (publish, watched) = watch::channel(view("first"));
        let (commands, mut service) = mpsc::channel(1);
        let (actions, mut heard) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let link = ClassLink {
            view: watched,
            commands,
        };
        let class = ClassFeed::start(link, actions, &mut tasks);
        // The class as it is now is there before any task runs.
        assert_eq!(heard.try_recv(), Ok(Action::Class(view("first"))));
        publish.send(view("second")).unwrap();
        assert_eq!(heard.recv().await, Some(Action::Class(view("second"))));

        class.send(ClassCommand::Approve(1));
        // The channel holds one: the next is refused at once, not waited for.
        class.send(ClassCommand::Refuse(2));
        assert_eq!(service.try_recv(), Ok(ClassCommand::Approve(1)));
        assert_eq!(
            heard.recv().await,
            Some(Action::ClassUnsent {
                command: ClassCommand::Refuse(2),
                reason: "the class service is busy".into(),
            })
        );
        drop(service);
        class.send(ClassCommand::Close);
        assert_eq!(
            heard.recv().await,
            Some(Action::ClassUnsent {
                command: ClassCommand::Close,
                reason: "the class service has stopped".into(),
            })
        );
    }
}
