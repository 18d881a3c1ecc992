//! Money, prices, quantities and times as people read them: [`qraft_client::format`],
//! and what only a screen needs (text cut to a width).

pub use qraft_client::format::*;

/// Text cut to `width` characters, with `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_with_an_ellipsis() {
        assert_eq!(fit("headline", 5), "head…");
        assert_eq!(fit("abc", 5), "abc");
        assert_eq!(fit("abc", 0), "");
    }
}
