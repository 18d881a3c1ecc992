//! Messages for the status line.

/// How a message looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    /// Done: a fill, an order accepted, a node back.
    Success,
    /// Worth a look, not an error.
    Warning,
    /// A rejection or a failure.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    pub at_ms: u64,
}

impl Notice {
    pub fn new(kind: NoticeKind, text: impl Into<String>, at_ms: u64) -> Notice {
        Notice {
            kind,
            text: text.into(),
            at_ms,
        }
    }
}
