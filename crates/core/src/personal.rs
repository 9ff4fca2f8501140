//! Personal data in free text. Citizens dictate their phone number into a complaint, and
//! departments' staff write callback numbers into a note; neither may reach the topics,
//! ClickHouse or the logs. [`mask_numbers`] masks what can be recognised by its shape alone.
//! A name in free text cannot be: ingest masks the caller's own name, which it knows, and the
//! integration guide asks departments not to write names in notes.

/// What replaces a phone number found in free text.
pub const PHONE_MASK: &str = "[电话]";
/// What replaces a resident identity card number (居民身份证号) found in free text.
pub const ID_CARD_MASK: &str = "[证件号]";

/// `text` with every phone number and identity card number masked:
/// - a mainland mobile number: 11 digits from 13–19, possibly grouped by single `-` or spaces
///   (`139 0000 1111`, `139-0000-1111`), possibly after the country code (`86`, `0086`);
/// - a landline with its area code: 10–12 digits from 0 (`024-23456789`);
/// - an identity card number: 17 digits and a check character (a digit or `X`) that matches
///   the GB 11643 checksum, so an 18-digit order or invoice number is left alone.
///
/// Numbers written next to each other (`13800001234 13900001111`, a date before a number) are
/// judged one by one. Other numbers (dates, house numbers, amounts, order numbers) are kept.
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            i = mask_run(&chars, i, &mut out);
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// At most this many digit groups make one phone number (`+86 138 0000 1234`).
const MOST_GROUPS: usize = 5;

/// Writes the run of digit groups that starts at `start` to `out`, masking each phone or
/// identity card number in it (the longest that starts at a group), and returns where the run
/// ends.
fn mask_run(chars: &[char], start: usize, out: &mut String) -> usize {
    let groups = digit_groups(chars, start);
    let digits_of = |groups: &[(usize, usize)]| -> String {
        groups
            .iter()
            .flat_map(|&(from, to)| &chars[from..to])
            .collect()
    };
    let mut end = start;
    let mut g = 0;
    while g < groups.len() {
        let (from, to) = groups[g];
        if g > 0 {
            out.push(chars[from - 1]); // the separator before this group
        }
        if let Some(id_end) = id_card_end(chars, from) {
            out.push_str(ID_CARD_MASK);
            end = id_end;
            g += 1;
            continue;
        }
        let last = (g..groups.len().min(g + MOST_GROUPS))
            .rev()
            .find(|&h| is_phone_number(&digits_of(&groups[g..=h])));
        match last {
            Some(h) => {
                out.push_str(PHONE_MASK);
                end = groups[h].1;
                g = h + 1;
            }
            None => {
                out.extend(&chars[from..to]);
                end = to;
                g += 1;
            }
        }
    }
    end
}

/// The digit groups, as `[from, to)` ranges, of the run that starts at `start`: groups of
/// digits joined by a single `-` or ` `.
fn digit_groups(chars: &[char], start: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut j = start;
    loop {
        let from = j;
        while chars.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
        groups.push((from, j));
        let joined = matches!(chars.get(j), Some('-' | ' '))
            && chars.get(j + 1).is_some_and(char::is_ascii_digit);
        if !joined {
            return groups;
        }
        j += 1;
    }
}

fn is_phone_number(digits: &str) -> bool {
    let mobile = |d: &str| {
        let b = d.as_bytes();
        b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
    };
    let landline = digits.starts_with('0') && (10..=12).contains(&digits.len());
    let with_country_code = ["86", "0086"]
        .iter()
        .any(|cc| digits.strip_prefix(cc).is_some_and(mobile));
    mobile(digits) || landline || with_country_code
}

/// Where an identity card number that starts at `start` ends: exactly 17 digits, then a check
/// character that is not followed by another digit, and a valid checksum.
fn id_card_end(chars: &[char], start: usize) -> Option<usize> {
    let body = chars.get(start..start + 17)?;
    if !body.iter().all(char::is_ascii_digit) {
        return None;
    }
    let check = *chars.get(start + 17)?;
    if chars.get(start + 18).is_some_and(char::is_ascii_digit) {
        return None;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let expected = b"10X98765432"[(sum % 11) as usize] as char;
    (check.to_ascii_uppercase() == expected).then_some(start + 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_masked_and_other_numbers_kept() {
        assert_eq!(
            mask_numbers("电话13800001234，座机024-23456789，门牌号58号，押金20000元"),
            "电话[电话]，座机[电话]，门牌号58号，押金20000元"
        );
        assert_eq!(mask_numbers("请回电 139 0000 1111"), "请回电 [电话]");
        assert_eq!(mask_numbers("电话139-0000-1111"), "电话[电话]");
        assert_eq!(
            mask_numbers("2026-11-21 08:15 发现"),
            "2026-11-21 08:15 发现"
        );
        assert_eq!(mask_numbers("工单号2026112100012"), "工单号2026112100012");
        assert_eq!(mask_numbers("12345"), "12345");
    }

    #[test]
    fn numbers_next_to_each_other_are_judged_one_by_one() {
        for (text, masked) in [
            ("电话 13800001234 13900001111", "电话 [电话] [电话]"),
            ("2026-11-21 13800001234", "2026-11-21 [电话]"),
            ("13800001234 2次", "[电话] 2次"),
            ("+86 138 0000 1234", "+[电话]"),
            ("+8613800001234", "+[电话]"),
            ("0086-13800001234", "[电话]"),
            ("门牌 58 号 024-23456789", "门牌 58 号 [电话]"),
            ("共 3 5 7 户", "共 3 5 7 户"),
        ] {
            assert_eq!(mask_numbers(text), masked, "{text}");
        }
    }

    #[test]
    fn identity_card_numbers_are_masked_only_when_their_checksum_holds() {
        // 11010519491231002X is the standard's own example; 440524188001010014 a second one.
        assert_eq!(
            mask_numbers("身份证11010519491231002X已核实"),
            "身份证[证件号]已核实"
        );
        assert_eq!(
            mask_numbers("证件 11010519491231002x，电话13800001234"),
            "证件 [证件号]，电话[电话]"
        );
        assert_eq!(mask_numbers("440524188001010014"), "[证件号]");
        // One digit changed: the checksum fails, so it is some other 18-digit number.
        assert_eq!(mask_numbers("440524188001010015"), "440524188001010015");
        // 19 digits is not an identity card number.
        assert_eq!(mask_numbers("4405241880010100141"), "4405241880010100141");
    }
}
