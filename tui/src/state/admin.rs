//! The teacher panel: what an admin can do from the dashboard.

/// One row of the teacher panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminItem {
    OpenMarket,
    HaltMarket,
    ResumeMarket,
    CloseMarket,
    PublishNews,
    AddParticipant,
    EndGame,
}

impl AdminItem {
    /// The rows, in the panel's order.
    pub const ALL: [AdminItem; 7] = [
        AdminItem::OpenMarket,
        AdminItem::HaltMarket,
        AdminItem::ResumeMarket,
        AdminItem::CloseMarket,
        AdminItem::PublishNews,
        AdminItem::AddParticipant,
        AdminItem::EndGame,
    ];

    /// What the row says.
    pub fn label(self) -> &'static str {
        match self {
            AdminItem::OpenMarket => "Open the market",
            AdminItem::HaltMarket => "Halt trading",
            AdminItem::ResumeMarket => "Resume trading",
            AdminItem::CloseMarket => "Close the market",
            AdminItem::PublishNews => "Publish news…",
            AdminItem::AddParticipant => "Add a participant…",
            AdminItem::EndGame => "End the game",
        }
    }

    /// The command line it is, or starts (items ending in `…` open the command line with
    /// this text for the rest to be typed).
    pub fn command(self) -> &'static str {
        match self {
            AdminItem::OpenMarket => "open",
            AdminItem::HaltMarket => "halt",
            AdminItem::ResumeMarket => "resume",
            AdminItem::CloseMarket => "close",
            AdminItem::PublishNews => "news ",
            AdminItem::AddParticipant => "add-participant ",
            AdminItem::EndGame => "end-game",
        }
    }

    /// Whether Enter opens the command line (the item needs more typing) rather than
    /// asking for a yes.
    pub fn needs_typing(self) -> bool {
        self.command().ends_with(' ')
    }
}
