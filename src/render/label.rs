//! A node's label as every renderer writes it: `head 'name' [facts] on thread 0x…`, e.g.
//! `Lock [locked, 2 waiting]`, `timer [sleep(3600), fires in 3599.9s]`, `Task 'A'`.

use crate::model::{Deadline, Fact, Facts, Label, Value};
use serde::{Serialize, Serializer};
use std::fmt::{self, Display, Formatter, Write};

impl Display for Label {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.head)?;
        if let Some(n) = &self.name {
            write!(f, " '{n}'")?;
        }
        if self.facts != Facts::None {
            write!(f, " [{}]", self.facts)?;
        }
        if let Some(thread) = self.on_thread {
            write!(f, " on thread {thread:#x}")?;
        }
        Ok(())
    }
}

/// The JSON's `label`: the text form.
impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A count or an unknown ("?").
struct Maybe<T>(Option<T>);

impl<T: Display> Display for Maybe<T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_char('?'),
        }
    }
}

impl Display for Facts {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Facts::None => Ok(()),
            Facts::Lock { locked, waiting } => {
                let state = if *locked { "locked" } else { "unlocked" };
                write!(f, "{state}, {waiting} waiting")
            }
            Facts::Event { set, waiting } => {
                let state = if *set { "set" } else { "not set" };
                write!(f, "{state}, {waiting} waiting")
            }
            Facts::Semaphore { value, waiting } => {
                write!(f, "value {}, {waiting} waiting", Maybe(*value))
            }
            Facts::Limiter {
                borrowed,
                total,
                waiting,
            } => match total {
                Some(t) => write!(f, "{borrowed} of {t} tokens lent, {waiting} waiting"),
                None => write!(f, "{borrowed} tokens lent, {waiting} waiting"),
            },
            Facts::Channel {
                buffered,
                max,
                receivers,
                senders,
            } => {
                match max {
                    Some(m) => write!(f, "{buffered} of {m} buffered")?,
                    None => write!(f, "{buffered} buffered, unbounded")?,
                }
                write!(f, ", {receivers} receiving, {senders} sending")
            }
            Facts::Waiting(n) => write!(f, "{n} waiting"),
            Facts::Queue {
                size,
                maxsize,
                getters,
                putters,
                unfinished,
            } => {
                write!(f, "{size}")?;
                if *maxsize > 0 {
                    write!(f, "/{maxsize}")?;
                }
                write!(f, " items, {getters} getters, {putters} putters")?;
                match unfinished {
                    Some(n) => write!(f, ", {n} unfinished"),
                    None => Ok(()),
                }
            }
            Facts::Barrier { waiting, parties } => write!(
                f,
                "{}/{} waiting",
                waiting.unwrap_or(0),
                parties.unwrap_or(0)
            ),
            Facts::Tasks(n) => write!(f, "{n} tasks"),
            Facts::Timer { sleep, deadline } => {
                if let Some(delay) = sleep {
                    // As JSON writes the number: 3600, 0.5, 1.0.
                    let delay = match delay {
                        Fact::Int(i) => i.to_string(),
                        Fact::Float(x) => serde_json::Value::from(*x).to_string(),
                        _ => "?".into(),
                    };
                    write!(f, "sleep({delay}), ")?;
                }
                match *deadline {
                    // Past its deadline: the loop has not run it (it is blocked, or busy).
                    Deadline::In { left, live: true } if left < 0.0 => {
                        write!(f, "overdue by {:.1}s", -left)
                    }
                    Deadline::In { left, live: true } => write!(f, "fires in {left:.1}s"),
                    Deadline::In { left, live: false } if left < 0.0 => {
                        write!(f, "overdue by {:.1}s at the loop's last wake-up", -left)
                    }
                    Deadline::In { left, live: false } => {
                        write!(f, "fires ≤{left:.1}s after the loop's last wake-up")
                    }
                    Deadline::LoopTime(w) => write!(f, "at loop time {w:.1}; now unknown"),
                    Deadline::Unreadable(ref class) => {
                        write!(f, "{class}: deadline not readable")
                    }
                }
            }
            Facts::Done { done, of } => write!(f, "{done}/{of} done"),
            Facts::Wait {
                return_when,
                done,
                of,
                timeout,
            } => {
                write!(f, "{}, {done}/{of} done", Maybe(return_when.as_deref()))?;
                match timeout {
                    Some(t) => write!(f, ", timeout {t}s"),
                    None => Ok(()),
                }
            }
            Facts::Fd { fd, watched } => {
                write!(f, "fd {}", Maybe(*fd))?;
                match watched.map(|w| w & 3) {
                    Some(1) => f.write_str(", watched for reading"),
                    Some(2) => f.write_str(", watched for writing"),
                    Some(3) => f.write_str(", watched for reading and writing"),
                    Some(_) => f.write_str(", not watched"),
                    None => Ok(()),
                }
            }
            Facts::Pid(pid) => write!(f, "pid {}", Maybe(*pid)),
            Facts::Job(state) => Maybe(state.as_deref()).fmt(f),
            Facts::Concurrent(state) => {
                f.write_str(&state.as_deref().unwrap_or("?").to_lowercase())
            }
            Facts::Class(name) => f.write_str(name),
            Facts::DeadlineUnreadable(why) => write!(f, "deadline not readable: {why}"),
        }
    }
}

/// A value as Python's `repr()` shows it, for the plain ones; a container by its type and
/// length, anything else by its type and address.
pub fn value(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool { value } => (if *value { "True" } else { "False" }).into(),
        Value::Int { value } => value.to_string(),
        Value::Float { value } => float(*value),
        Value::Str { value, cut } => {
            let mut s = String::from("'");
            for c in value.chars() {
                match c {
                    '\\' => s.push_str("\\\\"),
                    '\'' => s.push_str("\\'"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if c.is_control() => s.push_str(&format!("\\x{:02x}", c as u32)),
                    c => s.push(c),
                }
            }
            s.push('\'');
            if *cut {
                s.push('…');
            }
            s
        }
        Value::Bytes { value, cut } => {
            let mut s = String::from("b'");
            for &b in value {
                match b {
                    b'\\' => s.push_str("\\\\"),
                    b'\'' => s.push_str("\\'"),
                    b'\n' => s.push_str("\\n"),
                    b' '..=b'~' => s.push(b as char),
                    b => s.push_str(&format!("\\x{b:02x}")),
                }
            }
            s.push('\'');
            if *cut {
                s.push('…');
            }
            s
        }
        Value::Container { type_name, len } => format!("<{type_name} of {len}>"),
        Value::Object { type_name, address } => format!("<{type_name} object at {address}>"),
        Value::Unreadable { address } => format!("<unreadable at {address}>"),
    }
}

/// A float as Python's `repr()` writes it: the shortest form that reads back, `1e+16`.
fn float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return (if x > 0.0 { "inf" } else { "-inf" }).into();
    }
    let s = format!("{x:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

#[cfg(test)]
mod value_tests {
    use super::{Value, value};

    #[test]
    fn values_as_python_writes_them() {
        let f = |x: f64| value(&Value::Float { value: x });
        assert_eq!(f(3600.0), "3600.0");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1.5e-5), "1.5e-05");
        assert_eq!(f(f64::NAN), "nan");
        let s = |t: &str, cut| {
            value(&Value::Str {
                value: t.into(),
                cut,
            })
        };
        assert_eq!(s("it's\n", false), "'it\\'s\\n'");
        assert_eq!(s("abc", true), "'abc'…");
        let b = value(&Value::Bytes {
            value: vec![b'a', 0, b'\''],
            cut: false,
        });
        assert_eq!(b, "b'a\\x00\\''");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(left: f64, live: bool) -> String {
        let facts = Facts::Timer {
            sleep: Some(Fact::Int(3600)),
            deadline: Deadline::In { left, live },
        };
        Label::with("timer", facts).to_string()
    }

    #[test]
    fn a_deadline_says_when_or_how_late() {
        assert_eq!(timer(2.04, true), "timer [sleep(3600), fires in 2.0s]");
        assert_eq!(timer(-0.71, true), "timer [sleep(3600), overdue by 0.7s]");
        assert_eq!(
            timer(5.0, false),
            "timer [sleep(3600), fires ≤5.0s after the loop's last wake-up]"
        );
        assert_eq!(
            timer(-1.0, false),
            "timer [sleep(3600), overdue by 1.0s at the loop's last wake-up]"
        );
    }
}
