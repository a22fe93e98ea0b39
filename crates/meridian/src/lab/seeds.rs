//! `meridian lab DIR --seeds N`: the same lab under N seeds, side by side on threads. One run
//! is one draw of the network's delay noise and the oscillators' wander; several show how far a
//! device's figures spread, and whether a budget is met by chance.

use std::error::Error;
use std::fmt::Write;

use serde_json::{Value, json};

use super::{LabOptions, Prepared, simulate};

/// What a device is judged by in one run.
#[derive(Clone, Copy)]
struct Figure {
    /// p99 |TE| (ns) or p99 |FE| (ppb) after the warm-up, if there were samples.
    p99: Option<f64>,
    /// The budget's limit and whether the run met it.
    budget: Option<(f64, bool)>,
}

/// A judged device across the runs.
struct Column {
    name: String,
    /// `true`: time error in ns; `false`: frequency error in ppb.
    time: bool,
    figures: Vec<Figure>,
}

/// Runs the lab under seeds `first`, `first + 1`, … on `o.threads` threads; prints each
/// device's figure per seed and across them (or the JSON report of every run).
pub(super) fn run(o: &LabOptions, p: &Prepared, first: u64) -> Result<(), Box<dyn Error>> {
    if o.plot.is_some() || o.series.is_some() || o.pcap.is_some() || o.shell.is_some() {
        return Err(
            "--plot, --series, --pcap and --shell show one run: leave them out with --seeds".into(),
        );
    }
    let seeds: Vec<u64> = (0..o.seeds).map(|i| first.wrapping_add(i)).collect();
    // The wall time is what `--threads` buys, shown to the operator; no run reads it.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    // A run's error is text: the simulator itself stays on the thread that built it.
    let reports = crate::parallel::map_in_order(&seeds, o.threads, |&seed| {
        simulate(o, p, seed, false)
            .map(|f| f.report)
            .map_err(|e| format!("seed {seed}: {e}"))
    })
    .into_iter()
    .collect::<Result<Vec<Value>, String>>()?;
    let columns = columns(&reports);
    let text = table(&seeds, &columns);
    let report = json!({
        "seeds": seeds,
        "duration_s": p.duration,
        "warmup_s": p.warmup,
        "devices": columns.iter().map(across).collect::<Vec<_>>(),
        "runs": seeds.iter().zip(&reports).map(|(s, r)| json!({"seed": s, "report": r})).collect::<Vec<_>>(),
    });
    match o.json.as_deref() {
        Some("-") => println!("{}", serde_json::to_string_pretty(&report)?),
        Some(path) => {
            std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
            print!("{text}");
        }
        None => print!("{text}"),
    }
    // On standard error: the standard output depends on the seeds only, not on the machine.
    eprintln!(
        "({} runs of {} s on {} thread(s): {:.1} s wall)",
        seeds.len(),
        p.duration,
        o.threads.clamp(1, seeds.len()),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The devices judged (time or frequency; references have nothing to judge), with their
/// figure in every run.
fn columns(reports: &[Value]) -> Vec<Column> {
    let Some(first) = reports.first() else {
        return Vec::new();
    };
    let mut columns: Vec<Column> = first["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["role"] != "reference")
        .map(|d| Column {
            name: d["name"].as_str().unwrap_or("").to_string(),
            time: d["role"] == "time",
            figures: Vec::new(),
        })
        .collect();
    for r in reports {
        for c in &mut columns {
            let d = r["devices"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["name"] == c.name.as_str());
            let p99 = d.and_then(|d| {
                if c.time {
                    d["te_ns"]["p99"].as_f64()
                } else {
                    d["freq_error_ppb"]["p99"].as_f64()
                }
            });
            let budget =
                d.and_then(|d| Some((d["budget"]["limit"].as_f64()?, d["budget"]["met"] == true)));
            c.figures.push(Figure { p99, budget });
        }
    }
    columns
}

impl Column {
    fn value(&self, v: Option<f64>) -> String {
        match (v, self.time) {
            (None, _) => "-".into(),
            (Some(v), true) => format!("{v:.0} ns"),
            (Some(v), false) => format!("{v:.2} ppb"),
        }
    }

    /// The p99s of the runs that had samples, in ascending order.
    fn sorted(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.figures.iter().filter_map(|f| f.p99).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn worst(&self) -> Option<f64> {
        self.sorted().last().copied()
    }

    fn median(&self) -> Option<f64> {
        let v = self.sorted();
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    /// The budget (the first run's: the topology's or the device's default, the same in every
    /// run) and in how many runs it was met.
    fn met(&self) -> Option<(f64, usize)> {
        let limit = self.figures.iter().find_map(|f| f.budget)?.0;
        Some((
            limit,
            self.figures
                .iter()
                .filter(|f| f.budget.is_some_and(|b| b.1))
                .count(),
        ))
    }
}

/// The text report: a row per seed, then the worst, the median and the budget met.
fn table(seeds: &[u64], columns: &[Column]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "p99 after the warm-up in {} runs (time: |TE|, frequency: |FE|)",
        seeds.len()
    );
    let width = |c: &Column| c.name.len().max(12) + 2;
    let row = |out: &mut String, label: &str, cells: Vec<String>| {
        let _ = write!(out, "  {label:<8}");
        for (c, cell) in columns.iter().zip(cells) {
            let _ = write!(out, "{cell:>w$}", w = width(c));
        }
        out.push('\n');
    };
    row(
        &mut out,
        "seed",
        columns.iter().map(|c| c.name.clone()).collect(),
    );
    for (i, seed) in seeds.iter().enumerate() {
        let cells = columns.iter().map(|c| c.value(c.figures[i].p99)).collect();
        row(&mut out, &seed.to_string(), cells);
    }
    row(
        &mut out,
        "worst",
        columns.iter().map(|c| c.value(c.worst())).collect(),
    );
    row(
        &mut out,
        "median",
        columns.iter().map(|c| c.value(c.median())).collect(),
    );
    let budget = |c: &Column| {
        c.met().map_or("-".into(), |(limit, _)| {
            format!("±{limit} {}", if c.time { "ns" } else { "ppb" })
        })
    };
    row(&mut out, "budget", columns.iter().map(budget).collect());
    let met = |c: &Column| {
        c.met()
            .map_or("-".into(), |(_, k)| format!("{k}/{}", seeds.len()))
    };
    row(&mut out, "met", columns.iter().map(met).collect());
    if columns.is_empty() {
        out.push_str("  (no device recovers time or frequency)\n");
    }
    out
}

/// A device across the runs, for the JSON report.
fn across(c: &Column) -> Value {
    json!({
        "name": c.name,
        "quantity": if c.time { "te_ns" } else { "freq_error_ppb" },
        "p99": c.figures.iter().map(|f| f.p99).collect::<Vec<_>>(),
        "worst_p99": c.worst(),
        "median_p99": c.median(),
        "limit": c.met().map(|m| m.0),
        "met": c.met().map(|m| m.1),
    })
}
