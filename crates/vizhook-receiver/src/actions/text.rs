//! Text helpers the actions share for what they report: one-line reasons and excerpts.

/// `text` on one line (control characters become spaces, runs of spaces collapse), trimmed and
/// cut to `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max).collect();
    cut.push('…');
    cut
}
