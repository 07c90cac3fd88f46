//! A line diff between two versions of the terms, for the back-office's
//! "what changes" before a new version is published: the longest common
//! subsequence of lines (terms are a few hundred lines at most; beyond
//! [`MAX_CELLS`] the whole text is shown as replaced, which is still true).

use serde::Serialize;

/// Past this many line pairs, no alignment is sought.
const MAX_CELLS: usize = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub change: Change,
    pub text: String,
}

/// The lines of `new` against those of `old`, in order: each kept,
/// removed or added.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let line = |change, text: &str| DiffLine {
        change,
        text: text.to_owned(),
    };
    if old.len().saturating_mul(new.len()) > MAX_CELLS {
        return old
            .iter()
            .map(|text| line(Change::Removed, text))
            .chain(new.iter().map(|text| line(Change::Added, text)))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let width = new.len() + 1;
    let mut lcs = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i * width + j] = if old[i] == new[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::with_capacity(old.len().max(new.len()));
    while i < old.len() && j < new.len() {
        if old[i] == new[j] {
            lines.push(line(Change::Same, old[i]));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            lines.push(line(Change::Removed, old[i]));
            i += 1;
        } else {
            lines.push(line(Change::Added, new[j]));
            j += 1;
        }
    }
    lines.extend(old[i..].iter().map(|text| line(Change::Removed, text)));
    lines.extend(new[j..].iter().map(|text| line(Change::Added, text)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_removed_and_added_lines_in_order() {
        let diff = diff_lines("a\nb\nc\nd", "a\nc\nx\nd");
        let got: Vec<(Change, &str)> = diff.iter().map(|l| (l.change, l.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Change::Same, "a"),
                (Change::Removed, "b"),
                (Change::Same, "c"),
                (Change::Added, "x"),
                (Change::Same, "d"),
            ]
        );
        assert!(
            diff_lines("", "new")
                .iter()
                .all(|l| l.change == Change::Added)
        );
    }
}
