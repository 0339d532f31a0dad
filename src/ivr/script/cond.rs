//! Conditions of the `branch` and `hours` nodes: variable tests (equals,
//! prefix, regex, one of), time-of-day and day-of-week windows, weekly
//! business hours and holidays in an IANA time zone (jiff, tzdb from the
//! system). The parsers return the message the checker prints; evaluation
//! takes the wall-clock instant as an argument (never reads a clock).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use regex::Regex;

/// Longest regex source accepted, and its compiled size limit.
const MAX_PATTERN_LEN: usize = 256;
const PATTERN_SIZE_LIMIT: usize = 1 << 16;

/// A whole-value regex (`^(?:...)$`), compared by source.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

impl Pattern {
    pub fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}
impl Eq for Pattern {}

/// An IANA time zone, compared by name.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Zone {}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// Local date, weekday (0 = Monday) and minute of the day at `ts`.
    fn local(&self, ts: Timestamp) -> (Date, usize, u16) {
        let dt = self.tz.to_datetime(ts);
        let day = usize::from(dt.weekday().to_monday_zero_offset().unsigned_abs());
        let minute = dt.hour().unsigned_abs() as u16 * 60 + dt.minute().unsigned_abs() as u16;
        (dt.date(), day, minute)
    }
}

/// Looks up an IANA zone name (`Europe/Paris`, `UTC`).
pub fn parse_zone(name: &str) -> Result<Zone, String> {
    TimeZone::get(name)
        .map(|tz| Zone {
            name: name.to_owned(),
            tz,
        })
        .map_err(|_| format!("unknown time zone `{name}`"))
}

/// Compiles a validation pattern that must match the whole value.
pub fn parse_pattern(src: &str) -> Result<Pattern, String> {
    if src.len() > MAX_PATTERN_LEN {
        return Err(format!("pattern longer than {MAX_PATTERN_LEN} characters"));
    }
    regex::RegexBuilder::new(&format!("^(?:{src})$"))
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map(Pattern)
        .map_err(|e| {
            let first = e.to_string();
            let last = first.lines().last().unwrap_or("").trim().to_owned();
            format!("bad regex `{src}`: {last}")
        })
}

/// `HH:MM-HH:MM` → minutes of the day, start < end, end at most 24:00.
pub fn parse_window(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("time window `{s}` must be HH:MM-HH:MM with start before end");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (from, to) = (minute_of(a).ok_or_else(bad)?, minute_of(b).ok_or_else(bad)?);
    if from < to {
        Ok((from, to))
    } else {
        Err(bad())
    }
}

fn minute_of(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `mon`…`sun` → 0…6.
pub fn parse_day(s: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| *d == s)
        .ok_or_else(|| format!("unknown day `{s}` (expected mon tue wed thu fri sat sun)"))
}

/// `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    s.parse::<Date>()
        .map_err(|_| format!("date `{s}` must be YYYY-MM-DD"))
}

/// A test on one variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// The variable is set and not empty.
    Present,
    Equals(String),
    Prefix(String),
    Matches(Pattern),
    OneOf(Vec<String>),
}

impl Test {
    fn holds(&self, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return false;
        };
        match self {
            Test::Present => !v.is_empty(),
            Test::Equals(x) => v == x,
            Test::Prefix(x) => v.starts_with(x.as_str()),
            Test::Matches(p) => p.is_match(v),
            Test::OneOf(list) => list.iter().any(|x| x == v),
        }
    }
}

/// One `branch` case: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Variable name (`caller`, `dnis`, `header.X-Name` or a flow variable) and its test.
    pub var: Option<(String, Test)>,
    /// Minutes of the day `[from, to)`.
    pub time: Option<(u16, u16)>,
    /// Days of the week, Monday first.
    pub days: Option<[bool; 7]>,
    pub zone: Zone,
    pub goto: String,
}

impl Case {
    /// Whether the case holds for these variables at `now`.
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Option<String>, now: Timestamp) -> bool {
        if let Some((name, test)) = &self.var {
            if !test.holds(lookup(name).as_deref()) {
                return false;
            }
        }
        let (_, day, minute) = self.zone.local(now);
        let in_time = self.time.is_none_or(|(a, b)| (a..b).contains(&minute));
        let on_day = self.days.is_none_or(|d| d[day]);
        in_time && on_day
    }
}

/// Business hours: weekly windows plus holiday dates, in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    pub zone: Zone,
    /// Monday first; each day's open windows.
    pub weekly: [Vec<(u16, u16)>; 7],
    pub holidays: Vec<Date>,
}

/// What `hours` says about an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    Open,
    Closed,
    Holiday,
}

impl Hours {
    pub fn state(&self, now: Timestamp) -> OpenState {
        let (date, day, minute) = self.zone.local(now);
        if self.holidays.contains(&date) {
            return OpenState::Holiday;
        }
        let open = self.weekly[day]
            .iter()
            .any(|(a, b)| (*a..*b).contains(&minute));
        if open {
            OpenState::Open
        } else {
            OpenState::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse::<jiff::Zoned>()
            .map(|z| z.timestamp())
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn windows_days_dates_and_zones_parse_or_say_why() {
        assert_eq!(parse_window("09:00-17:30"), Ok((540, 1050)));
        assert_eq!(parse_window("00:00-24:00"), Ok((0, 1440)));
        assert!(parse_window("17:00-09:00").is_err());
        assert!(parse_window("9:00-17:00").is_err());
        assert!(parse_window("09:60-10:00").is_err());
        assert_eq!(parse_day("sun"), Ok(6));
        assert!(parse_day("Sunday").is_err());
        assert!(parse_date("2026-12-25").is_ok());
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_zone("Europe/Paris").is_ok());
        let e = parse_zone("Mars/Olympus").unwrap_err();
        assert_eq!(e, "unknown time zone `Mars/Olympus`");
        assert!(parse_pattern("[0-9]{4}").is_ok());
        assert!(parse_pattern("([0-9]")
            .unwrap_err()
            .starts_with("bad regex"));
    }

    #[test]
    fn pattern_matches_the_whole_value() {
        let p = parse_pattern("[0-9]{4}").expect("valid");
        assert!(p.is_match("1234"));
        assert!(!p.is_match("12345"));
        assert!(!p.is_match("x1234"));
    }

    #[test]
    fn hours_follow_the_zone_and_holidays() {
        let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
        for d in weekly.iter_mut().take(5) {
            d.push((540, 1020));
        }
        let hours = Hours {
            zone: parse_zone("America/New_York").expect("zone"),
            weekly,
            holidays: vec![parse_date("2026-12-25").expect("date")],
        };
        // Thursday 2026-12-03 10:00 in New York is open; 15:00 UTC is 10:00 there.
        assert_eq!(hours.state(ts("2026-12-03T15:00[UTC]")), OpenState::Open);
        // 10:00 UTC is 05:00 in New York: closed.
        assert_eq!(hours.state(ts("2026-12-03T10:00[UTC]")), OpenState::Closed);
        // Saturday.
        let sat = ts("2026-12-05T11:00[America/New_York]");
        assert_eq!(hours.state(sat), OpenState::Closed);
        let xmas = ts("2026-12-25T11:00[America/New_York]");
        assert_eq!(hours.state(xmas), OpenState::Holiday);
    }

    #[test]
    fn case_needs_every_condition() {
        let case = Case {
            var: Some(("caller".into(), Test::Prefix("+1".into()))),
            time: Some((540, 1020)),
            days: None,
            zone: Zone::utc(),
            goto: "x".into(),
        };
        let us = |n: &str| (n == "caller").then(|| "+15551234".to_owned());
        let fr = |n: &str| (n == "caller").then(|| "+33123".to_owned());
        let at10 = ts("2026-12-03T10:00[UTC]");
        assert!(case.holds(&us, at10));
        assert!(!case.holds(&fr, at10));
        assert!(!case.holds(&us, ts("2026-12-03T18:00[UTC]")));
        assert!(!Test::Equals("a".into()).holds(None));
        assert!(Test::OneOf(vec!["a".into(), "b".into()]).holds(Some("b")));
        assert!(!Test::Present.holds(Some("")));
    }
}
