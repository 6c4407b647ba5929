//! Shortening labels to a width without losing the part that tells them apart: a prefix that all sample ids share
//! goes first ("…a06_s01_e01"), then the middle, keeping more of the end ("punch…left fist" beside
//! "punch…right fist", where plain truncation shows "punch with l…" next to "punch with r…"). The full text goes
//! on hover.

const ELLIPSIS: char = '…';

/// `text` shortened to fit `max` points, given each char's width (`widths`, one per char) and the ellipsis's;
/// `skip` leading chars (a prefix common to every label of the column) are dropped first.
pub fn elide_with(text: &str, widths: &[f32], ellipsis: f32, max: f32, skip: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let total: f32 = widths.iter().sum();
    if total <= max || chars.len() != widths.len() {
        return text.to_owned();
    }
    let skip = skip.min(chars.len());
    let rest: f32 = widths[skip..].iter().sum();
    if skip > 0 && rest + ellipsis <= max {
        return std::iter::once(ELLIPSIS)
            .chain(chars[skip..].iter().copied())
            .collect();
    }
    // The middle goes: up to 60 % of the room for the end, the rest for the start (after the common prefix).
    let lead = if skip > 0 { ellipsis } else { 0.0 };
    let room = (max - ellipsis - lead).max(0.0);
    let (mut tail, mut tail_w) = (chars.len(), 0.0);
    while tail > skip && tail_w + widths[tail - 1] <= 0.6 * room {
        tail -= 1;
        tail_w += widths[tail];
    }
    let (mut head, mut head_w) = (skip, 0.0);
    while head < tail && head_w + widths[head] <= room - tail_w {
        head_w += widths[head];
        head += 1;
    }
    let mut out: String = if skip > 0 {
        std::iter::once(ELLIPSIS).collect()
    } else {
        String::new()
    };
    out.extend(chars[skip..head].iter());
    out.push(ELLIPSIS);
    out.extend(chars[tail..].iter());
    out
}

/// [`elide_with`] measured in `font`.
pub fn elide(ui: &egui::Ui, text: &str, font: &egui::FontId, max: f32, skip: usize) -> String {
    ui.ctx().fonts_mut(|f| {
        let widths: Vec<f32> = text.chars().map(|c| f.glyph_width(font, c)).collect();
        let ellipsis = f.glyph_width(font, ELLIPSIS);
        elide_with(text, &widths, ellipsis, max, skip)
    })
}

/// The number of leading chars every label shares, cut back to just after a separator (`_`, `-`, `/`, `.`, ` `)
/// so that no token is split; 0 for fewer than two labels.
pub fn common_prefix<'a>(labels: impl IntoIterator<Item = &'a str>) -> usize {
    let mut labels = labels.into_iter();
    let Some(first) = labels.next() else {
        return 0;
    };
    let first: Vec<char> = first.chars().collect();
    let mut n = first.len();
    let mut count = 1;
    for l in labels {
        count += 1;
        n = n.min(
            first
                .iter()
                .zip(l.chars())
                .take_while(|(a, b)| **a == *b)
                .count(),
        );
    }
    if count < 2 {
        return 0;
    }
    // Never the whole of the shortest label.
    let n = n.min(first.len().saturating_sub(1));
    first[..n]
        .iter()
        .rposition(|c| matches!(c, '_' | '-' | '/' | '.' | ' '))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(text: &str, max: f32, skip: usize) -> String {
        // Every char 1 point wide, the ellipsis too.
        elide_with(text, &vec![1.0; text.chars().count()], 1.0, max, skip)
    }

    #[test]
    fn the_part_that_differs_survives() {
        assert_eq!(fit("kick", 10.0, 0), "kick");
        let left = fit("punch with left fist", 15.0, 0);
        let right = fit("punch with right fist", 15.0, 0);
        assert!(left.chars().count() <= 15 && right.chars().count() <= 15);
        assert!(
            left.starts_with("punch") && left.ends_with("eft fist"),
            "{left}"
        );
        assert!(
            right.starts_with("punch") && right.ends_with("ght fist"),
            "{right}"
        );
        assert_ne!(left, right);
        // The common prefix of the ids goes first, whole.
        assert_eq!(fit("synth_a06_s01_e01", 12.0, 6), "…a06_s01_e01");
        // Then the middle of what is left.
        let short = fit("synth_a06_s01_e01", 8.0, 6);
        assert!(short.starts_with('…') && short.ends_with("e01"), "{short}");
        assert!(short.chars().count() <= 8, "{short}");
    }

    #[test]
    fn common_prefixes_end_at_a_separator() {
        assert_eq!(common_prefix(["synth_a01_s01", "synth_a02_s01"]), 6);
        assert_eq!(common_prefix(["S001C001P001", "S001C002P001"]), 0);
        assert_eq!(common_prefix(["a01_s01_e01"]), 0);
        assert_eq!(common_prefix(["x_1", "x_1"]), 2);
    }
}
