//! The `:` command line being typed.

/// How many commands the history keeps.
const HISTORY: usize = 50;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    /// Cursor position, in characters.
    pub cursor: usize,
    /// Commands run before, oldest first.
    pub history: Vec<String>,
    /// Which history entry is shown while browsing with up/down.
    pub browsing: Option<usize>,
}

impl Prompt {
    pub fn open(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.chars().count();
        self.browsing = None;
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_index();
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        let at = self.byte_index();
        self.text.remove(at);
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_index();
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Clears the line and remembers it.
    pub fn take(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        let trimmed = text.trim().to_string();
        if !trimmed.is_empty() && self.history.last() != Some(&trimmed) {
            self.history.push(trimmed.clone());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        trimmed
    }

    /// Shows the previous command.
    pub fn older(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let index = match self.browsing {
            None => self.history.len() - 1,
            Some(i) => i.saturating_sub(1),
        };
        self.browsing = Some(index);
        self.text = self.history[index].clone();
        self.end();
    }

    /// Shows the next command, or an empty line after the newest.
    pub fn newer(&mut self) {
        match self.browsing {
            Some(i) if i + 1 < self.history.len() => {
                self.browsing = Some(i + 1);
                self.text = self.history[i + 1].clone();
            }
            _ => {
                self.browsing = None;
                self.text.clear();
            }
        }
        self.end();
    }

    fn byte_index(&self) -> usize {
        self.text
            .char_indices()
            .nth(self.cursor)
            .map_or(self.text.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_at_the_cursor_and_remembers_history() {
        let mut p = Prompt::default();
        p.open("buy ACME 10");
        p.left();
        p.left();
        p.insert('5');
        assert_eq!(p.text, "buy ACME 510");
        p.backspace();
        p.delete();
        assert_eq!(p.text, "buy ACME 0");
        assert_eq!(p.take(), "buy ACME 0");
        p.open("cancel all");
        p.take();
        p.older();
        assert_eq!(p.text, "cancel all");
        p.older();
        assert_eq!(p.text, "buy ACME 0");
        p.newer();
        assert_eq!(p.text, "cancel all");
        p.newer();
        assert_eq!(p.text, "");
    }
}
