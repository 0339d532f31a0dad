//! `say`: turns a value into the list of recorded fragments that speak it
//! (US English: "one thousand two hundred thirty four", "twelve dollars and
//! five cents", "one hour two minutes"). Pure; the fragments are the WAVs
//! `media/generate.sh` makes (`n0`–`n19`, `n20`…`n90`, `hundred`, …).

use std::fmt;

/// Largest magnitude spoken as a number; larger values are spoken digit by digit.
pub const MAX_NUMBER: i64 = 999_999_999;
/// Most characters of a value spoken digit by digit.
pub const MAX_DIGITS: usize = 32;

/// How a value is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SayAs {
    /// Each digit on its own: "1 2 3" (phone numbers, account numbers).
    Digits,
    /// A whole number, negative allowed: "minus forty two".
    Number,
    /// Dollars and cents from a decimal value: "12.05".
    Money,
    /// A duration from whole seconds: "3725" → one hour two minutes five seconds.
    Duration,
}

impl SayAs {
    /// The name used in scripts (`as = "money"`).
    pub fn parse(s: &str) -> Option<SayAs> {
        match s {
            "digits" => Some(SayAs::Digits),
            "number" => Some(SayAs::Number),
            "money" => Some(SayAs::Money),
            "duration" => Some(SayAs::Duration),
            _ => None,
        }
    }
}

/// A value `say` cannot speak as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SayError {
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for SayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.value.chars().take(40).collect();
        write!(f, "cannot say `{shown}`: expected {}", self.expected)
    }
}

/// The fragments speaking `value` as `how`.
pub fn say(how: SayAs, value: &str) -> Result<Vec<String>, SayError> {
    let value = value.trim();
    let bad = |expected| SayError {
        value: value.to_owned(),
        expected,
    };
    match how {
        SayAs::Digits => {
            let ok = !value.is_empty()
                && value.len() <= MAX_DIGITS
                && value.chars().all(|c| c.is_ascii_digit());
            ok.then(|| digits(value)).ok_or(bad("up to 32 digits"))
        }
        SayAs::Number => value
            .parse::<i64>()
            .map(number)
            .map_err(|_| bad("a whole number")),
        SayAs::Money => parse_cents(value)
            .map(money)
            .ok_or(bad("an amount like 12.50")),
        SayAs::Duration => value
            .parse::<u64>()
            .map(duration)
            .map_err(|_| bad("whole seconds")),
    }
}

/// Every fragment `say` can produce (for the checker: they must exist).
pub fn all_fragments() -> Vec<String> {
    let mut out: Vec<String> = (0..20).map(|n| format!("n{n}")).collect();
    out.extend((2..10).map(|t| format!("n{}", t * 10)));
    for w in [
        "hundred", "thousand", "million", "minus", "and", "minute", "minutes", "second", "seconds",
        "hour", "hours", "dollar", "dollars", "cent", "cents",
    ] {
        out.push(w.to_owned());
    }
    out
}

/// "n1 n2 n3" for "123".
pub fn digits(value: &str) -> Vec<String> {
    value
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| format!("n{d}"))
        .collect()
}

/// A whole number in words; beyond ±[`MAX_NUMBER`], digit by digit.
pub fn number(n: i64) -> Vec<String> {
    let mut out = Vec::new();
    if n < 0 {
        out.push("minus".to_owned());
    }
    let abs = n.unsigned_abs();
    if abs > MAX_NUMBER.unsigned_abs() {
        out.extend(digits(&abs.to_string()));
        return out;
    }
    if abs == 0 {
        out.push("n0".to_owned());
        return out;
    }
    let (millions, rest) = (abs / 1_000_000, abs % 1_000_000);
    let (thousands, units) = (rest / 1000, rest % 1000);
    for (group, word) in [(millions, Some("million")), (thousands, Some("thousand"))] {
        if group > 0 {
            below_thousand(group, &mut out);
            out.extend(word.map(str::to_owned));
        }
    }
    if units > 0 {
        below_thousand(units, &mut out);
    }
    out
}

fn below_thousand(n: u64, out: &mut Vec<String>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(format!("n{hundreds}"));
        out.push("hundred".to_owned());
    }
    if rest >= 20 {
        out.push(format!("n{}", rest / 10 * 10));
        if rest % 10 > 0 {
            out.push(format!("n{}", rest % 10));
        }
    } else if rest > 0 {
        out.push(format!("n{rest}"));
    }
}

/// "12.5" → 1250; at most two decimals, no sign, at most [`MAX_NUMBER`] dollars.
pub fn parse_cents(value: &str) -> Option<i64> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || frac.len() > 2 || !all_digits(whole) || !all_digits(frac) {
        return None;
    }
    let dollars: i64 = whole.parse().ok().filter(|d| *d <= MAX_NUMBER)?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(dollars * 100 + cents)
}

fn unit(n: u64, one: &str, many: &str, out: &mut Vec<String>) {
    out.extend(number(i64::try_from(n).unwrap_or(MAX_NUMBER)));
    out.push(if n == 1 { one } else { many }.to_owned());
}

/// Dollars and cents: "n12 dollars and n5 cents"; zero parts are left out
/// (but zero itself is "n0 dollars").
pub fn money(cents: i64) -> Vec<String> {
    let mut out = Vec::new();
    if cents < 0 {
        out.push("minus".to_owned());
    }
    let abs = cents.unsigned_abs();
    let (d, c) = (abs / 100, abs % 100);
    if d > 0 || c == 0 {
        unit(d, "dollar", "dollars", &mut out);
    }
    if c > 0 {
        if d > 0 {
            out.push("and".to_owned());
        }
        unit(c, "cent", "cents", &mut out);
    }
    out
}

/// Hours, minutes and seconds, zero parts left out ("n0 seconds" for 0).
pub fn duration(secs: u64) -> Vec<String> {
    let mut out = Vec::new();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        unit(h, "hour", "hours", &mut out);
    }
    if m > 0 {
        unit(m, "minute", "minutes", &mut out);
    }
    if s > 0 || out.is_empty() {
        unit(s, "second", "seconds", &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: Vec<String>) -> String {
        v.join(" ")
    }

    #[test]
    fn numbers_in_words() {
        assert_eq!(words(number(0)), "n0");
        assert_eq!(words(number(7)), "n7");
        assert_eq!(words(number(19)), "n19");
        assert_eq!(words(number(20)), "n20");
        assert_eq!(words(number(42)), "n40 n2");
        assert_eq!(words(number(100)), "n1 hundred");
        assert_eq!(words(number(1234)), "n1 thousand n2 hundred n30 n4");
        assert_eq!(words(number(-5)), "minus n5");
        assert_eq!(
            words(number(2_000_010)),
            "n2 million n10",
            "empty thousands group is silent"
        );
        assert_eq!(
            words(number(1_000_000_000)),
            "n1 n0 n0 n0 n0 n0 n0 n0 n0 n0"
        );
        assert!(!number(i64::MIN).is_empty());
    }

    #[test]
    fn money_in_dollars_and_cents() {
        assert_eq!(words(money(0)), "n0 dollars");
        assert_eq!(words(money(100)), "n1 dollar");
        assert_eq!(words(money(1205)), "n12 dollars and n5 cents");
        assert_eq!(words(money(1)), "n1 cent");
        assert_eq!(parse_cents("12.5"), Some(1250));
        assert_eq!(parse_cents("12.05"), Some(1205));
        assert_eq!(parse_cents("3"), Some(300));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("-1"), None);
        assert_eq!(parse_cents(".5"), None);
    }

    #[test]
    fn durations_leave_out_zero_parts() {
        assert_eq!(words(duration(0)), "n0 seconds");
        assert_eq!(words(duration(1)), "n1 second");
        assert_eq!(words(duration(90)), "n1 minute n30 seconds");
        assert_eq!(words(duration(3725)), "n1 hour n2 minutes n5 seconds");
        assert_eq!(words(duration(7200)), "n2 hours");
    }

    #[test]
    fn say_parses_and_rejects() {
        assert_eq!(say(SayAs::Digits, "105").map(words), Ok("n1 n0 n5".into()));
        assert!(say(SayAs::Digits, "1a").is_err());
        assert!(say(SayAs::Digits, "").is_err());
        assert!(say(SayAs::Number, "x").is_err());
        assert_eq!(
            say(SayAs::Money, " 2.50 ").map(words),
            Ok("n2 dollars and n50 cents".into())
        );
        assert!(say(SayAs::Duration, "-3").is_err());
        let e = say(SayAs::Number, "abc").unwrap_err();
        assert_eq!(e.to_string(), "cannot say `abc`: expected a whole number");
    }

    #[test]
    fn every_fragment_produced_is_listed() {
        let all = all_fragments();
        for n in [0, 13, 99, 101, 999_999_999, -42] {
            for f in number(n)
                .into_iter()
                .chain(money(n.abs()))
                .chain(duration(n.unsigned_abs()))
            {
                assert!(all.contains(&f), "{f} missing from all_fragments");
            }
        }
    }
}
