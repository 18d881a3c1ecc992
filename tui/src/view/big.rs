//! Big digits for the projector page, three rows tall, drawn with block characters:
//! ranks, returns and the round clock, readable from the back of a classroom. (Ratatui
//! has no font sizes.) Digits, letters (as capitals), `: . ! % + - _ /` and spaces; see
//! [`can_draw`] (anything else is a blank).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// Rows of a big character.
pub const HEIGHT: u16 = 3;

/// The three rows of `c` (a letter in either case), each the same width; `None` for a
/// character the font lacks.
fn glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c.to_ascii_uppercase() {
        '0' | 'O' => ["█▀█", "█ █", "█▄█"],
        '1' => ["▀█ ", " █ ", "▄█▄"],
        '2' => ["▀▀█", "█▀▀", "█▄▄"],
        '3' => ["▀▀█", " ▀█", "▄▄█"],
        '4' => ["█ █", "▀▀█", "  █"],
        '5' | 'S' => ["█▀▀", "▀▀█", "▄▄█"],
        '6' => ["█▀▀", "█▀█", "█▄█"],
        '7' => ["▀▀█", "  █", "  █"],
        '8' => ["█▀█", "█▀█", "█▄█"],
        '9' => ["█▀█", "▀▀█", "▄▄█"],
        'A' => ["█▀█", "█▀█", "█ █"],
        'B' => ["█▀▄", "█▀▄", "█▄▀"],
        'C' => ["█▀▀", "█  ", "█▄▄"],
        'D' => ["█▀▄", "█ █", "█▄▀"],
        'E' => ["█▀▀", "█▀ ", "█▄▄"],
        'F' => ["█▀▀", "█▀ ", "█  "],
        'G' => ["█▀▀", "█ ▄", "█▄█"],
        'H' => ["█ █", "█▀█", "█ █"],
        'I' => ["▀█▀", " █ ", "▄█▄"],
        'J' => ["  █", "  █", "█▄█"],
        'K' => ["█ █", "█▀▄", "█ █"],
        'L' => ["█  ", "█  ", "█▄▄"],
        'M' => ["█▄ ▄█", "█ ▀ █", "█   █"],
        'N' => ["█▄ █", "█ ▀█", "█  █"],
        'P' => ["█▀█", "█▀▀", "█  "],
        'Q' => ["█▀█", "█ █", "▀▀█"],
        'R' => ["█▀█", "█▀▄", "█ █"],
        'T' => ["▀█▀", " █ ", " █ "],
        'U' => ["█ █", "█ █", "█▄█"],
        'V' => ["█ █", "█ █", "▀▄▀"],
        'W' => ["█   █", "█ ▄ █", "▀▄▀▄▀"],
        'X' => ["█ █", "▄▀▄", "█ █"],
        'Y' => ["█ █", "▀▄▀", " █ "],
        'Z' => ["▀▀█", "▄▀ ", "█▄▄"],
        ':' => [" ", "▀", "▀"],
        '.' => [" ", " ", "▄"],
        '!' => ["█", "█", "▄"],
        '%' => ["▀ █", "▄▀ ", "█ ▄"],
        '+' => ["   ", "▄█▄", " ▀ "],
        '-' => ["   ", "▄▄▄", "   "],
        '_' => ["   ", "   ", "▄▄▄"],
        '/' => ["  █", " █ ", "█  "],
        ' ' => ["  ", "  ", "  "],
        _ => return None,
    })
}

/// Whether the font has every character of `text`.
pub fn can_draw(text: &str) -> bool {
    text.chars().all(|c| glyph(c).is_some())
}

/// Columns `c` takes, without the gap after it.
fn glyph_width(c: char) -> u16 {
    glyph(c).map_or(3, |g| g[0].chars().count() as u16)
}

/// Columns `text` takes in big characters, one column between two.
pub fn width(text: &str) -> u16 {
    let chars = text.chars().count() as u16;
    text.chars().map(glyph_width).sum::<u16>() + chars.saturating_sub(1)
}

/// Draws `text` in big characters from (`x`, `y`), clipped to `area`.
pub fn draw(text: &str, x: u16, y: u16, area: Rect, buf: &mut Buffer, style: Style) {
    let mut at = x;
    for c in text.chars() {
        for (row, line) in glyph(c).unwrap_or([""; 3]).iter().enumerate() {
            let y = y + row as u16;
            for (i, cell) in line.chars().enumerate() {
                let x = at + i as u16;
                if cell != ' ' && area.contains(ratatui::layout::Position::new(x, y)) {
                    buf[(x, y)].set_char(cell).set_style(style);
                }
            }
        }
        at += glyph_width(c) + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests::buffer_lines;

    #[test]
    fn digits_are_three_rows_tall() {
        let text = "12:05";
        assert_eq!(width(text), 3 + 1 + 3 + 1 + 1 + 1 + 3 + 1 + 3);
        let area = Rect::new(0, 0, width(text), HEIGHT);
        let mut buf = Buffer::empty(area);
        draw(text, 0, 0, area, &mut buf, Style::new());
        assert_eq!(
            buffer_lines(&buf),
            [
                "▀█  ▀▀█   █▀█ █▀▀",
                " █  █▀▀ ▀ █ █ ▀▀█",
                "▄█▄ █▄▄ ▀ █▄█ ▄▄█"
            ]
        );
        assert!(can_draw("Round 2/3"));
        assert!(!can_draw("naïve"));
    }
}
