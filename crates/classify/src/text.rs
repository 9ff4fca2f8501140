//! Text normalisation and feature extraction: jieba words plus character n-grams, each hashed
//! to a 64-bit key (FNV-1a over a namespace byte and the UTF-8 bytes), so that extracting the
//! features of a ticket allocates no strings.

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The process-wide jieba segmenter with its embedded default dictionary. Building it takes a
/// few hundred milliseconds (release), so it is built once, on first use.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Which features a model reads. Stored in the model file, so that a model is always read
/// with the features it was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// jieba words (`w:` namespace).
    pub words: bool,
    /// jieba's HMM for words missing from its dictionary.
    pub hmm: bool,
    /// Character n-grams from `char_min` to `char_max` (`c:` namespace); `char_max` 0 turns
    /// them off.
    pub char_min: usize,
    pub char_max: usize,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            words: true,
            hmm: false,
            char_min: 1,
            char_max: 3,
        }
    }
}

/// Full-width ASCII to half-width, ideographic space to space, ASCII upper case to lower case.
/// Everything else is kept as it is. Rules and features both read normalised text.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    out.extend(text.chars().map(|c| match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(c as u32 - 0xFEE0).map_or(c, |a| a.to_ascii_lowercase())
        }
        _ => c.to_ascii_lowercase(),
    }));
    out
}

/// Whether a character carries content for n-grams (not punctuation, space or symbols).
#[inline]
fn is_content(c: char) -> bool {
    // CJK Unified Ideographs, most of a ticket, answered without the Unicode tables.
    matches!(c, '\u{4E00}'..='\u{9FFF}') || c.is_alphanumeric()
}

const NS_WORD: u8 = b'w';
const NS_CHAR: u8 = b'c';

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv_byte(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
}

#[inline]
fn fnv_start(ns: u8) -> u64 {
    fnv_byte(fnv_byte(FNV_OFFSET, ns), b':')
}

#[inline]
fn fnv_char(h: u64, c: char) -> u64 {
    let mut buf = [0u8; 4];
    c.encode_utf8(&mut buf).bytes().fold(h, fnv_byte)
}

/// The 64-bit key of a feature name as written in a model file (`w:word` or `c:ngram`).
pub fn feature_key(name: &str) -> u64 {
    name.bytes().fold(FNV_OFFSET, fnv_byte)
}

/// A digit stands for any digit in n-grams and words (phone numbers, house numbers and
/// counts carry no category), except in the short emergency numbers kept as words.
#[inline]
fn fold_digit(c: char) -> char {
    if c.is_ascii_digit() {
        '0'
    } else {
        c
    }
}

/// Calls `emit(key)` once per feature occurrence of the normalised text `norm`. With
/// `names`, also pushes each feature's readable name (for building a vocabulary).
pub fn for_each_feature(
    norm: &str,
    cfg: &FeatureConfig,
    mut names: Option<&mut Vec<String>>,
    mut emit: impl FnMut(u64),
) {
    if cfg.words {
        for token in jieba().cut(norm, cfg.hmm) {
            let word = token.word;
            if !word.chars().any(is_content) {
                continue;
            }
            // Short numbers stay themselves (110, 119, 120); longer ones fold their digits.
            let keep_digits = word.len() <= 3;
            let mut h = fnv_start(NS_WORD);
            for c in word.chars() {
                h = fnv_char(h, if keep_digits { c } else { fold_digit(c) });
            }
            emit(h);
            if let Some(names) = names.as_deref_mut() {
                let w: String = word
                    .chars()
                    .map(|c| if keep_digits { c } else { fold_digit(c) })
                    .collect();
                names.push(format!("w:{w}"));
            }
        }
    }
    if cfg.char_max == 0 || cfg.char_min == 0 || cfg.char_min > cfg.char_max {
        return;
    }
    let chars: Vec<char> = norm.chars().map(fold_digit).collect();
    let mut start = 0;
    while start < chars.len() {
        if !is_content(chars[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && is_content(chars[end]) {
            end += 1;
        }
        let seg = &chars[start..end];
        for i in 0..seg.len() {
            let mut h = fnv_start(NS_CHAR);
            for n in 1..=cfg.char_max.min(seg.len() - i) {
                h = fnv_char(h, seg[i + n - 1]);
                if n >= cfg.char_min {
                    emit(h);
                    if let Some(names) = names.as_deref_mut() {
                        let g: String = seg[i..i + n].iter().collect();
                        names.push(format!("c:{g}"));
                    }
                }
            }
        }
        start = end;
    }
}

/// Feature keys with their counts, sorted by key.
pub(crate) fn count_sorted(mut keys: Vec<u64>) -> Vec<(u64, u32)> {
    keys.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_width_and_case() {
        assert_eq!(normalize("ＳＯＳ　１２０ Abc"), "sos 120 abc");
    }

    #[test]
    fn feature_keys_match_their_names() {
        let cfg = FeatureConfig::default();
        let norm = normalize("楼道里一股煤气味 138****1937");
        let mut names = Vec::new();
        let mut keys = Vec::new();
        for_each_feature(&norm, &cfg, Some(&mut names), |k| keys.push(k));
        assert_eq!(names.len(), keys.len());
        for (name, key) in names.iter().zip(&keys) {
            assert_eq!(feature_key(name), *key, "{name}");
        }
        assert!(names.iter().any(|n| n == "c:煤气味"), "{names:?}");
        assert!(names.iter().any(|n| n == "c:000"), "{names:?}");
    }
}
