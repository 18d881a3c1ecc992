//! [`ClassLink`]: the teacher's dashboard's line to the class service of `qraft class`.

use qraft_client::class::{ClassCommand, ClassView};
use tokio::sync::{mpsc, watch};

/// The class service as the dashboard sees it: the latest [`ClassView`] (published
/// whenever the class changes), and where the Class panel's [`ClassCommand`]s go.
pub struct ClassLink {
    pub view: watch::Receiver<ClassView>,
    pub commands: mpsc::Sender<ClassCommand>,
}
