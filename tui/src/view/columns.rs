//! Tables as aligned text: columns of fixed width after a one-character marker (the
//! cursor `▸` or a space). When a panel is narrow the least important columns go first,
//! so a number is never cut in the middle.

use ratatui::text::{Line, Span};

use crate::format::fit;

use super::theme;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Col {
    pub title: &'static str,
    pub width: u16,
    pub align: Align,
    /// Importance: columns with the highest number are dropped first.
    pub drop: u8,
    /// Takes the width left over (at most one column should).
    pub grow: bool,
}

impl Col {
    pub const fn left(title: &'static str, width: u16, drop: u8) -> Col {
        Col {
            title,
            width,
            align: Align::Left,
            drop,
            grow: false,
        }
    }

    pub const fn right(title: &'static str, width: u16, drop: u8) -> Col {
        Col {
            title,
            width,
            align: Align::Right,
            drop,
            grow: false,
        }
    }

    pub const fn grow(self) -> Col {
        Col { grow: true, ..self }
    }
}

/// The columns that fit a width, and their widths.
#[derive(Clone, Debug)]
pub struct Columns {
    cols: Vec<Col>,
    /// Width of each column, 0 for one left out.
    widths: Vec<u16>,
}

const GAP: u16 = 1;
const MARKER: u16 = 1;

fn needed(cols: &[Col], keep: &[usize]) -> u16 {
    let widths: u16 = keep.iter().map(|&i| cols[i].width).sum();
    MARKER + widths + GAP * keep.len().saturating_sub(1) as u16
}

impl Columns {
    /// Lays `cols` out in `width` characters.
    pub fn new(cols: &[Col], width: u16) -> Columns {
        let mut keep: Vec<usize> = (0..cols.len()).collect();
        while keep.len() > 1 && needed(cols, &keep) > width {
            let worst = keep
                .iter()
                .enumerate()
                .max_by_key(|(at, i)| (cols[**i].drop, *at))
                .map_or(0, |(at, _)| at);
            keep.remove(worst);
        }
        let mut widths: Vec<u16> = (0..cols.len())
            .map(|i| if keep.contains(&i) { cols[i].width } else { 0 })
            .collect();
        let spare = width.saturating_sub(needed(cols, &keep));
        if let Some(i) = keep.iter().copied().find(|&i| cols[i].grow) {
            widths[i] += spare;
        }
        Columns {
            cols: cols.to_vec(),
            widths,
        }
    }

    /// Whether column `i` is shown.
    pub fn shows(&self, i: usize) -> bool {
        self.widths.get(i).is_some_and(|w| *w > 0)
    }

    /// The header line.
    pub fn header(&self) -> Line<'static> {
        let cells = self
            .cols
            .iter()
            .map(|c| Span::styled(c.title, theme::column()))
            .collect();
        self.row(Span::raw(" "), cells)
    }

    /// A row: the marker, then one span per column (extra or missing cells are blank).
    pub fn row<'a>(&self, marker: Span<'a>, cells: Vec<Span<'a>>) -> Line<'a> {
        let mut spans = vec![marker];
        let mut cells = cells.into_iter();
        let mut first = true;
        for (col, width) in self.cols.iter().zip(&self.widths) {
            let cell = cells.next().unwrap_or_default();
            if *width == 0 {
                continue;
            }
            if !first {
                spans.push(Span::raw(" "));
            }
            first = false;
            let width = usize::from(*width);
            let text = fit(&cell.content, width);
            let pad = width.saturating_sub(text.chars().count());
            let text = match col.align {
                Align::Left => format!("{text}{}", " ".repeat(pad)),
                Align::Right => format!("{}{text}", " ".repeat(pad)),
            };
            spans.push(Span::styled(text, cell.style));
        }
        Line::from(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Col; 3] = [
        Col::left("Sym", 4, 0),
        Col::right("Last", 6, 1),
        Col::right("Volume", 7, 2),
    ];

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn aligns_and_drops_the_least_important_column_first() {
        let wide = Columns::new(&COLS, 40);
        assert_eq!(text(&wide.header()), " Sym    Last  Volume");
        let row = wide.row(
            Span::raw(">"),
            vec!["ACME".into(), "12.50".into(), "1,234".into()],
        );
        assert_eq!(text(&row), ">ACME  12.50   1,234");
        let narrow = Columns::new(&COLS, 12);
        assert!(!narrow.shows(2));
        assert_eq!(text(&narrow.header()), " Sym    Last");
    }

    #[test]
    fn a_growing_column_takes_the_spare_width() {
        let cols = [Col::left("A", 2, 0).grow(), Col::right("B", 2, 0)];
        let c = Columns::new(&cols, 10);
        assert_eq!(text(&c.header()), " A       B");
    }
}
