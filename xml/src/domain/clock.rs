//! `<clock>` and its `<timer>`s.

use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// `<clock>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockDef {
    /// `offset`: utc, localtime, timezone, variable.
    pub offset: super::Word,
    /// `adjustment`, `basis` and `timezone` (boxed: only some offsets use them).
    pub offset_params: Option<Box<ClockOffsetParams>>,
    /// `<timer>`s: name, present, tickpolicy, track.
    pub timers: Vec<Timer>,
}

/// The attributes that qualify a `<clock offset>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClockOffsetParams {
    /// `adjustment`.
    pub adjustment: Option<String>,
    /// `basis` (variable).
    pub basis: Option<String>,
    /// `timezone`.
    pub timezone: Option<String>,
    /// `start` (absolute).
    pub start: Option<String>,
}

impl Default for ClockDef {
    fn default() -> ClockDef {
        ClockDef {
            offset: super::Word::Borrowed("utc"),
            offset_params: None,
            timers: Vec::new(),
        }
    }
}

/// `<timer>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timer {
    /// `name`: rtc, pit, hpet, kvmclock, tsc, ...
    pub name: String,
    /// `present`.
    pub present: Option<String>,
    /// `tickpolicy`.
    pub tickpolicy: Option<String>,
    /// `track`.
    pub track: Option<String>,
    /// `frequency` (tsc).
    pub frequency: Option<String>,
    /// `mode` (tsc).
    pub mode: Option<String>,
    /// `<catchup threshold slew limit>` as written (boxed: rare).
    pub catchup: Option<Box<Element>>,
}

fn unsigned(e: &Element, attr: &str) -> Result<(), XmlError> {
    match e.attr(attr) {
        Some(v) if v.trim().parse::<u64>().is_err() => Err(super::errs::xml_util(format!(
            "Invalid value for attribute '{attr}' in element '{}': '{v}'. \
             Expected non-negative integer value",
            e.name
        ))),
        _ => Ok(()),
    }
}

/// libvirt's checks on one `<timer>`: numbers where numbers go, and each setting only
/// on the timers that have it.
fn check_timer(t: &Element, name: &str) -> Result<(), XmlError> {
    unsigned(t, "frequency")?;
    if let Some(c) = t.child("catchup") {
        for a in ["threshold", "slew", "limit"] {
            unsigned(c, a)?;
        }
    }
    let supports = |setting: &str| match setting {
        "tickpolicy" => !matches!(name, "kvmclock" | "hypervclock" | "tsc"),
        "track" => matches!(name, "rtc" | "platform"),
        _ => name == "tsc",
    };
    for setting in ["tickpolicy", "track", "frequency", "mode"] {
        if t.attr(setting).is_some() && !supports(setting) {
            return Err(super::errs::unsupported(format!(
                "timer {name} doesn't support setting of timer {setting}"
            )));
        }
    }
    if t.child("catchup").is_some() && t.attr("tickpolicy") != Some("catchup") {
        return Err(super::errs::xml(
            "setting of timer catchup policies is only supported with tickpolicy='catchup'".into(),
        ));
    }
    Ok(())
}

fn timer(t: &Element) -> Result<Timer, XmlError> {
    let catchup = t.child("catchup").map(|c| {
        let mut e = Element {
            name: "catchup".into(),
            ..Element::default()
        };
        for k in ["threshold", "slew", "limit"] {
            if let Some(v) = c.attr(k) {
                e.attrs.push((k.into(), v.into()));
            }
        }
        Box::new(e)
    });
    let name = t
        .attr_s("name")
        .ok_or_else(|| super::errs::missing_attr("name".into(), "timer".into()))?;
    check_timer(t, &name)?;
    Ok(Timer {
        name,
        present: t.attr_s("present"),
        tickpolicy: t.attr_s("tickpolicy"),
        track: t.attr_s("track"),
        frequency: t.attr_s("frequency"),
        mode: t.attr_s("mode"),
        catchup,
    })
}

/// libvirt's reading of the offset attributes: a numeric adjustment of a utc or
/// localtime clock makes it a variable one on that basis; a variable clock's adjustment
/// defaults to 0 and its basis to utc; a timezone clock needs its timezone.
fn offset(e: &Element) -> Result<(String, ClockOffsetParams), XmlError> {
    let offset = e.attr("offset").unwrap_or("utc");
    let adj = e.attr("adjustment");
    let numeric = adj.filter(|a| a.parse::<i64>().is_ok());
    let mut p = ClockOffsetParams::default();
    let offset = match offset {
        "utc" | "localtime" if adj == Some("reset") => {
            p.adjustment = Some("reset".into());
            offset
        }
        "utc" | "localtime" if numeric.is_some() => {
            p.adjustment = numeric.map(str::to_string);
            p.basis = Some(offset.into());
            "variable"
        }
        "utc" | "localtime" => offset,
        "variable" => {
            p.adjustment = Some(numeric.unwrap_or("0").into());
            let basis = e.attr("basis").unwrap_or("utc");
            if !matches!(basis, "utc" | "localtime") {
                return Err(super::errs::unsupported(format!(
                    "unknown clock basis '{basis}'"
                )));
            }
            p.basis = Some(basis.into());
            offset
        }
        "timezone" => {
            p.timezone = Some(e.attr_s("timezone").ok_or_else(|| {
                super::errs::internal(
                    "missing 'timezone' attribute for clock with offset='timezone'".into(),
                )
            })?);
            offset
        }
        "absolute" => {
            let start = e.attr("start").filter(|s| s.parse::<u64>().is_ok());
            p.start = Some(start.map(str::to_string).ok_or_else(|| {
                super::errs::internal(
                    "missing 'start' attribute for clock with offset='absolute'".into(),
                )
            })?);
            offset
        }
        other => {
            return Err(super::errs::unsupported(format!(
                "unknown clock offset '{other}'"
            )))
        }
    };
    Ok((offset.to_string(), p))
}

impl ClockDef {
    /// Parses `<clock>`.
    pub fn parse(e: &Element) -> Result<ClockDef, XmlError> {
        let (offset, params) = offset(e)?;
        let timers = e
            .children_named("timer")
            .map(timer)
            .collect::<Result<_, _>>()?;
        Ok(ClockDef {
            offset: super::word(&offset),
            offset_params: (params != ClockOffsetParams::default()).then(|| Box::new(params)),
            timers,
        })
    }

    /// Writes `<clock>`.
    pub fn write(&self, out: &mut Out) {
        let params = self.offset_params.as_deref();
        let a = Attrs::new()
            .add("offset", &self.offset)
            .opt("adjustment", params.and_then(|p| p.adjustment.as_ref()))
            .opt("basis", params.and_then(|p| p.basis.as_ref()))
            .opt("timezone", params.and_then(|p| p.timezone.as_ref()))
            .opt("start", params.and_then(|p| p.start.as_ref()));
        out.element_always("clock", &a, |o| {
            for t in &self.timers {
                let ta = Attrs::new()
                    .add("name", &t.name)
                    .opt("present", t.present.as_ref())
                    .opt("tickpolicy", t.tickpolicy.as_ref())
                    .opt("track", t.track.as_ref())
                    .opt("frequency", t.frequency.as_ref())
                    .opt("mode", t.mode.as_ref());
                o.element("timer", &ta, |o| {
                    if let Some(c) = &t.catchup {
                        c.write(o);
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn round(x: &str) -> Result<String, XmlError> {
        let c = ClockDef::parse(&parse_document(x).unwrap())?;
        let mut o = Out::new();
        c.write(&mut o);
        Ok(o.finish())
    }

    /// Outputs checked against libvirt 9.0's test driver.
    #[test]
    fn offsets_and_timers() {
        let x = "<clock offset='utc'>\n  <timer name='rtc' tickpolicy='catchup'/>\n</clock>\n";
        assert_eq!(round(x).unwrap(), x);
        let cases = [
            ("<clock offset='variable'/>", "<clock offset='variable' adjustment='0' basis='utc'/>\n"),
            ("<clock offset='localtime' adjustment='5'/>", "<clock offset='variable' adjustment='5' basis='localtime'/>\n"),
            ("<clock offset='utc' adjustment='reset'/>", "<clock offset='utc' adjustment='reset'/>\n"),
            ("<clock offset='timezone' timezone='Europe/Paris' adjustment='5'/>", "<clock offset='timezone' timezone='Europe/Paris'/>\n"),
            ("<clock><timer name='tsc' mode='native' frequency='1' present='yes'/></clock>", "<clock offset='utc'>\n  <timer name='tsc' present='yes' frequency='1' mode='native'/>\n</clock>\n"),
        ];
        for (x, want) in cases {
            assert_eq!(round(x).unwrap(), want, "{x}");
        }
    }

    #[test]
    fn refusals_worded_like_libvirt() {
        assert_eq!(
            round("<clock offset='sideways'/>").unwrap_err().to_string(),
            "unsupported configuration: unknown clock offset 'sideways'"
        );
        assert_eq!(
            round("<clock offset='timezone'/>").unwrap_err().to_string(),
            "internal error: missing 'timezone' attribute for clock with offset='timezone'"
        );
    }
}
