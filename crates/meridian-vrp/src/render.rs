//! `display current-configuration`: every command of the tree renders its own lines, in the
//! vendor's layout (`#` between sections, interface blocks, `return` at the end).

use crate::commands::{Render, table};
use crate::config::Config;

/// The system-view lines of `config`, section by section.
fn sections(config: &Config) -> Vec<Vec<String>> {
    let mut by_section: std::collections::BTreeMap<u8, Vec<String>> =
        std::collections::BTreeMap::new();
    for cmd in table() {
        if let Render::System(section, f) = cmd.render {
            by_section.entry(section).or_default().extend(f(config));
        }
    }
    by_section.into_values().filter(|v| !v.is_empty()).collect()
}

/// The lines of one interface block, header included.
#[must_use]
pub fn interface_block(config: &Config, name: &str) -> Vec<String> {
    let mut lines = vec![format!("interface {name}")];
    if let Some(i) = config.interfaces.get(name) {
        for cmd in table() {
            if let Render::Interface(f) = cmd.render {
                lines.extend(f(name, i));
            }
        }
    }
    lines
}

/// The whole configuration as text.
#[must_use]
pub fn current_configuration(config: &Config) -> String {
    let mut blocks = sections(config);
    for name in config.interfaces.keys() {
        blocks.push(interface_block(config, name));
    }
    let mut out = String::new();
    for b in blocks {
        out.push_str("#\n");
        for l in b {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str("#\nreturn\n");
    out
}
