//! The command-language targets: arbitrary lines typed at a device (with `?` help and Tab
//! completion on every prefix), and configuration files loaded, saved and loaded again.

use meridian_vrp::parse::{complete, help};
use meridian_vrp::render::current_configuration;
use meridian_vrp::session::{NoEngines, Session, View};

const LICENSE: &str = "clock-synchronization\n";

fn licensed_session() -> Session {
    let mut s = match Session::load_licensed("", Some(("license.txt", LICENSE))) {
        Ok(s) => s,
        Err((_, e)) => panic!("an empty configuration does not load: {e}"),
    };
    s.view = View::System;
    s
}

/// Lines typed at a licensed device in system view: each is executed (errors are fine, panics
/// are not), completed and helped at every character boundary; then a commit, and if it
/// succeeds, `save` must produce what loads back to the same configuration.
pub fn lines(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut s = licensed_session();
    for line in text.lines().take(64) {
        let view = s.view.kind();
        for (i, _) in line.char_indices().chain([(line.len(), ' ')]) {
            let prefix = &line[..i];
            let _ = complete(view, prefix);
            let _ = help(view, prefix);
        }
        let _ = s.run_line(line, &mut NoEngines);
    }
    if s.commit().is_ok() {
        round_trip(&s);
    }
}

/// A configuration file: if it loads, what `save` writes of it loads to the same configuration.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = Session::load_licensed(text, Some(("license.txt", LICENSE))) {
        round_trip(&s);
    }
}

fn round_trip(s: &Session) {
    let saved = current_configuration(&s.running);
    match Session::load_licensed(&saved, Some(("license.txt", LICENSE))) {
        Ok(again) => assert_eq!(
            again.running, s.running,
            "saved configuration loads differently:\n{saved}"
        ),
        Err((line, e)) => panic!("saved configuration does not load: line {line}: {e}\n{saved}"),
    }
}

/// A license file's content: activating it never panics, and whatever it enables, a
/// configuration using the 1588 features either loads under it or is refused with an error.
pub fn license_file(data: &[u8]) {
    let content = String::from_utf8_lossy(data);
    let mut s = Session::default();
    s.license_files
        .insert("fuzz.lic".into(), content.into_owned());
    s.view = View::System;
    let _ = s.run_line("license active fuzz.lic", &mut NoEngines);
    let _ = s.run_line("display license", &mut NoEngines);
    for line in [
        "ptp-adaptive enable",
        "ptp-adaptive device-type client",
        "ptp-adaptive remote-server1-ip 192.0.2.1",
        "ptp-adaptive atr unicast-negotiate enable",
    ] {
        let _ = s.run_line(line, &mut NoEngines);
    }
    if s.commit().is_ok() {
        let saved = current_configuration(&s.running);
        let license = s.license_files.get("fuzz.lic").map(String::as_str);
        if let Err((line, e)) = Session::load_licensed(&saved, license.map(|l| ("fuzz.lic", l))) {
            panic!(
                "saved configuration does not load under its license: line {line}: {e}\n{saved}"
            );
        }
    }
}
