//! The devices of a lab: one `<device>.cfg` each, loaded as the router would load it, and
//! checked against the topology and each other.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use meridian_vrp::config::Config;
use meridian_vrp::device::addresses;
use meridian_vrp::session::{NoEngines, Session, View};

use crate::error::LabError;
use crate::topology::Topology;

/// One device of the lab.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its name: the file's stem.
    pub name: String,
    /// Its configuration file, as the operator would name it.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// The configuration it loads to.
    pub config: Config,
}

impl Device {
    /// Loads `text`, the content of `file`, as device `name` with an optional active license
    /// `(file name, content)`.
    pub fn load(
        name: &str,
        file: &str,
        text: &str,
        license: Option<(&str, &str)>,
    ) -> Result<Self, LabError> {
        let session = Session::load_licensed(text, license).map_err(|(line, msg)| {
            if line == 0 {
                let (lf, _) = license.unwrap_or(("license", ""));
                return LabError::at(lf, None, last_line(&msg));
            }
            let mut e = LabError::at(file, Some(line), last_line(&msg));
            e.detail = near_caret(&msg);
            e
        })?;
        Ok(Self {
            name: name.to_string(),
            file: file.to_string(),
            text: text.to_string(),
            config: session.running,
        })
    }
}

/// The `Error: …` line of a device's answer.
fn last_line(msg: &str) -> String {
    msg.lines().last().unwrap_or(msg).to_string()
}

/// The echoed line and its caret, cut to 60 characters either side of the caret; `None` for
/// an error without a caret (the one line says it all).
fn near_caret(msg: &str) -> Option<String> {
    let lines: Vec<&str> = msg.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim_start() == "^")
        .filter(|&i| i > 0)?;
    let column = lines[i].chars().count() - 1;
    let from = column.saturating_sub(60);
    let echo: String = lines[i - 1].chars().skip(from).take(120).collect();
    let mut out = format!("{echo}\n{}^", " ".repeat(column - from));
    for l in &lines[i + 1..] {
        out += "\n";
        out += l;
    }
    Some(out)
}

/// Reads every `<device>.cfg` of `dir`, in name order, with `license.txt` (if present) active
/// on every device.
pub fn load_devices(dir: &Path) -> Result<Vec<Device>, LabError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| LabError::at(&shown, None, e.to_string()))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    files.sort();
    let license_path = dir.join("license.txt");
    let license = match std::fs::read(&license_path) {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
            LabError::at(&license_path.display().to_string(), None, "not UTF-8 text")
        })?),
        Err(_) => None,
    };
    let license_name = license_path.display().to_string();
    let mut out = Vec::new();
    for f in files {
        let file = f.display().to_string();
        let bytes = std::fs::read(&f).map_err(|e| LabError::at(&file, None, e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = crate::error::line_of(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            LabError::at(&file, Some(line), "not UTF-8 text")
        })?;
        // A configuration file ends with `return`: without it, it was cut short.
        if let Some((n, _)) = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .last()
            .filter(|(_, l)| l.trim() != "return")
        {
            return Err(LabError::at(
                &file,
                Some(n + 1),
                "the configuration ends without `return` (cut short?)",
            ));
        }
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The device knows its license by file name; errors name the path.
        let license = license.as_deref().map(|l| ("license.txt", l));
        let device = Device::load(&name, &file, &text, license).map_err(|mut e| {
            if license.is_some_and(|(n, _)| n == e.file) {
                e.file.clone_from(&license_name);
            }
            e
        })?;
        out.push(device);
    }
    if out.is_empty() {
        return Err(LabError::at(&shown, None, "no <device>.cfg files"));
    }
    Ok(out)
}

/// Checks the topology against the devices: every name resolves (case-sensitively, with a
/// hint), interfaces exist, no two devices share an address, and no device is cut off.
pub fn check(topo: &Topology, file: &str, text: &str, devices: &[Device]) -> Result<(), LabError> {
    let at =
        |span: std::ops::Range<usize>, m: String| LabError::at_offset(file, text, span.start, m);
    let find = |name: &str| devices.iter().find(|d| d.name == name);
    let unknown = |name: &str| {
        let hint = devices
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map_or(String::new(), |d| {
                format!(" (did you mean {:?}? names are case-sensitive)", d.name)
            });
        format!("no device {name:?}: there is no {name}.cfg{hint}")
    };
    for name in topo.devices.keys() {
        if find(name.get_ref()).is_none() {
            return Err(at(name.span(), unknown(name.get_ref())));
        }
    }
    let segment = |s: &str| topo.segments.iter().any(|x| x.get_ref() == s);
    for d in devices {
        if topo.segments.iter().any(|s| s.get_ref() == &d.name) {
            return Err(LabError::at(
                file,
                None,
                format!("{:?} is both a segment and a device", d.name),
            ));
        }
    }
    let mut linked = BTreeMap::new();
    for l in &topo.links {
        let mut ends = Vec::new();
        for end in [&l.a, &l.b] {
            let (device, interface) = match end.get_ref().split_once(':') {
                Some((d, i)) => (d, Some(i)),
                None => (end.get_ref().as_str(), None),
            };
            if interface.is_none() && segment(device) {
                ends.push(None);
                continue;
            }
            let Some(d) = find(device) else {
                let what = if interface.is_none() {
                    " or segment"
                } else {
                    ""
                };
                return Err(at(
                    end.span(),
                    format!("link end {:?}: {}{what}", end.get_ref(), unknown(device)),
                ));
            };
            if let Some(i) = interface
                && !d.config.interfaces.contains_key(i)
            {
                let known: Vec<&str> = d.config.interfaces.keys().map(String::as_str).collect();
                return Err(at(
                    end.span(),
                    format!(
                        "{} has no interface {i:?} (it has: {})",
                        d.name,
                        known.join(", ")
                    ),
                ));
            }
            *linked.entry(d.name.as_str()).or_insert(0) += 1;
            ends.push(Some(device));
        }
        if let [Some(a), Some(b)] = ends[..]
            && a == b
        {
            return Err(at(l.b.span(), format!("a link from {a} to itself")));
        }
    }
    let mut owner: BTreeMap<Ipv4Addr, &Device> = BTreeMap::new();
    for d in devices {
        for a in addresses(&d.config) {
            if let Some(o) = owner.insert(a, d)
                && o.name != d.name
            {
                let line = d.text.lines().position(|l| {
                    l.contains(&format!(" {a} ")) || l.trim_end().ends_with(&format!(" {a}"))
                });
                return Err(LabError::at(
                    &d.file,
                    line.map(|l| l + 1),
                    format!(
                        "address {a} is also {}'s: each device must own its addresses",
                        o.name
                    ),
                ));
            }
        }
    }
    if devices.len() > 1
        && let Some(d) = devices
            .iter()
            .find(|d| !linked.contains_key(d.name.as_str()))
    {
        return Err(LabError::at(
            file,
            None,
            format!(
                "device {} has no link: add a [[links]] entry with a = {:?}",
                d.name, d.name
            ),
        ));
    }
    for f in &topo.failures {
        if let Some(d) = &f.device
            && find(d.get_ref()).is_none()
        {
            return Err(at(d.span(), unknown(d.get_ref())));
        }
    }
    for d in &topo.display {
        if find(d.device.get_ref()).is_none() {
            return Err(at(d.device.span(), unknown(d.device.get_ref())));
        }
    }
    // Every commit applies, in order, to what the earlier ones left: tried now, not at 3 a.m.
    let mut configs: BTreeMap<&str, Config> = devices
        .iter()
        .map(|d| (d.name.as_str(), d.config.clone()))
        .collect();
    for c in topo.commits() {
        let name = c.device.get_ref();
        let Some(config) = configs.get_mut(name.as_str()) else {
            return Err(at(c.device.span(), unknown(name)));
        };
        *config = apply_commit(config, &c.lines).map_err(|e| {
            at(
                c.device.span(),
                format!("commit at {} s on {name}: {e}", c.at.get_ref().0),
            )
        })?;
    }
    Ok(())
}

/// `config` after typing `lines` from system view and committing: the new running
/// configuration, or the first error (the line and the device's message).
pub fn apply_commit(config: &Config, lines: &[String]) -> Result<Config, String> {
    let mut s = Session::new(config.clone());
    s.view = View::System;
    for line in lines {
        s.execute(line, &mut NoEngines).map_err(|f| {
            let message = f.render("");
            let last = message.lines().last().unwrap_or_default().to_string();
            format!("{line:?}: {last}")
        })?;
    }
    s.commit().map_err(|e| format!("commit: {e}"))?;
    Ok(s.running)
}
