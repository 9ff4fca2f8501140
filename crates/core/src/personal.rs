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
///   (`139 0000 1111`, `139-0000-1111`);
/// - a landline with its area code: 10–12 digits from 0 (`024-23456789`);
/// - an identity card number: 17 digits and a check character (a digit or `X`) that matches
///   the GB 11643 checksum, so an 18-digit order or invoice number is left alone.
///
/// Other numbers (dates, house numbers, amounts, order numbers) are kept.
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            let (digits, end) = digit_groups(&chars, i);
            if let Some(end) = id_card_end(&chars, i) {
                out.push_str(ID_CARD_MASK);
                i = end;
                continue;
            }
            if is_phone_number(&digits) {
                out.push_str(PHONE_MASK);
            } else {
                out.extend(&chars[i..end]);
            }
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The digits of a run of digit groups joined by single `-` or ` ` that starts at `start`,
/// and where the run ends. Grouping stops after 12 digits: no phone number is longer.
fn digit_groups(chars: &[char], start: usize) -> (String, usize) {
    let mut digits = String::new();
    let mut j = start;
    while j < chars.len() {
        if chars[j].is_ascii_digit() {
            digits.push(chars[j]);
        } else if (chars[j] == '-' || chars[j] == ' ')
            && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            && digits.len() < 12
        {
            // a separator inside the number
        } else {
            break;
        }
        j += 1;
    }
    (digits, j)
}

fn is_phone_number(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    let mobile = bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
    let landline = bytes.first() == Some(&b'0') && (10..=12).contains(&bytes.len());
    mobile || landline
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
