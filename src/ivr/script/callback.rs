//! The `callback` node's shape and rules (issue 6): register the number
//! the caller left (a template, usually `${callback}` from a `collect`) as
//! a callback that keeps the caller's place in the CTI queue (interface B
//! `RequestCallback`). `next` once the CTI registered it; `on_error` when
//! the number is not 3 to 20 digits (optional leading `+`) or the CTI
//! refused (no place in line, too many callbacks).

use super::raw::Sp;
use super::Diags;
use serde::Deserialize;

/// Longest `number` template.
pub const MAX_CALLBACK_TEMPLATE: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallback {
    pub number: Sp<String>,
    pub next: Sp<String>,
    pub on_error: Sp<String>,
}

/// Rules of one callback node other than its targets.
pub(super) fn check_callback(c: &RawCallback, d: &mut Diags<'_>) {
    if let Err(e) = check_number_template(c.number.get_ref()) {
        d.at(c.number.span(), e);
    }
}

/// Digits, a leading `+` and `${var}` placeholders only.
pub fn check_number_template(template: &str) -> Result<(), String> {
    if template.is_empty() || template.len() > MAX_CALLBACK_TEMPLATE {
        return Err(format!(
            "`number` must be 1 to {MAX_CALLBACK_TEMPLATE} characters"
        ));
    }
    let mut rest = template.strip_prefix('+').unwrap_or(template);
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                return Err("`number` has an unclosed `${`".to_owned());
            };
            let name = &tail[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`number` names a bad variable `{name}`"));
            }
            rest = &tail[end + 1..];
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            rest = &rest[1..];
        } else {
            return Err(
                "`number` may hold only digits, a leading `+` and `${var}` placeholders".to_owned(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_number_template;

    #[test]
    fn digits_plus_and_placeholders_pass_others_fail() {
        for ok in ["${callback}", "+${cc}${number}", "5551234", "+1${n}"] {
            assert_eq!(check_number_template(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "${callback",
            "sip:${x}",
            "555 1234",
            "${}",
            "${a-b}",
            "1+2",
        ] {
            assert!(check_number_template(bad).is_err(), "{bad}");
        }
    }
}
