//! The NTP scenarios in the simulator.

use std::net::Ipv4Addr;

use meridian_proto::ntp_service::Reference;
use meridian_proto::time::Duration;
use meridian_sim::pdv::PdvModel;
use meridian_sim::scenarios::ntp;

#[test]
fn a_seed_004_verbatim() {
    let r = ntp::seed_004(4, 12_000);
    eprintln!("seed 004: {r:?}");
    assert_eq!(r.d, (3, Reference::Peer(Ipv4Addr::new(10, 0, 1, 31))));
    assert_eq!(r.e, (4, Reference::Peer(Ipv4Addr::new(10, 0, 1, 32))));
    assert!(r.d_has_passive_for_e);
    assert!(
        r.max_offset_us.0 < 100.0 && r.max_offset_us.1 < 100.0,
        "{r:?}"
    );
    assert!(r.max_te_us.0 < 100.0 && r.max_te_us.1 < 100.0, "{r:?}");
}

#[test]
fn b_falseticker_is_rejected() {
    let (chose_false, te_us) = ntp::falseticker(5, 900);
    eprintln!("falseticker: chose it {chose_false}, max |TE| {te_us:.1} µs");
    assert!(!chose_false);
    assert!(te_us < 1_000.0);
}

#[test]
fn c_strata_and_loops() {
    let r = ntp::strata_and_loops(6, 900);
    eprintln!("strata: {r:?}");
    assert_eq!(r.unreferenced_peers, (16, 16));
    assert_eq!(
        r.local_vs_server,
        (3, Reference::Peer(Ipv4Addr::new(10, 0, 3, 3)))
    );
    assert_eq!(
        r.loop_pair.0,
        (5, Reference::Local(0)),
        "A stays on its local clock"
    );
    assert_eq!(
        r.loop_pair.1,
        (6, Reference::Peer(Ipv4Addr::new(10, 0, 3, 5)))
    );
}

#[test]
fn d_iburst_convergence() {
    let (synced, te_us) = ntp::convergence(7);
    eprintln!("convergence: synchronized at {synced:?} s, |TE| at 64 s {te_us:.1} µs");
    assert!(synced.is_some_and(|s| s <= 10));
    assert!(te_us < 1_000.0);
}

#[test]
fn e_spoofed_replies_change_nothing() {
    let (te_us, bogus, forged) = ntp::spoofing(8, 600);
    eprintln!("spoofing: max |TE| {te_us:.1} µs, bogus {bogus} of {forged} forged");
    assert!(te_us < 1_000.0);
    // Every forged reply that arrived was counted (the last may still be in flight).
    assert!(
        bogus <= forged && bogus + 1 >= forged,
        "{bogus} of {forged}"
    );
}

#[test]
fn f_accuracy_against_jitter() {
    // chrony's published simulation of this case (its comparison page, test 1) gives mean |TE|
    // 35 ± 8, 109 ± 14 and 475 ± 93 µs. Averaged over ten seeds (one seed alone varies by a
    // factor of four), the thresholds are: a third of chrony's mean at 10 µs, half at 100 µs
    // ("well below"), chrony's mean plus one deviation at 1 ms (not worse).
    for (jitter_us, chrony, limit_us) in [
        (10, 35.0, 35.0 / 3.0),
        (100, 109.0, 109.0 / 2.0),
        (1000, 475.0, 475.0 + 93.0),
    ] {
        let runs: Vec<(f64, f64)> = (1..=10)
            .map(|seed| {
                ntp::jitter_accuracy(seed, Duration::from_micros(jitter_us), 4000, 2000, false)
            })
            .collect();
        let mean = runs.iter().map(|r| r.0).sum::<f64>() / runs.len() as f64;
        let worst = runs.iter().map(|r| r.0).fold(0.0, f64::max);
        eprintln!(
            "jitter {jitter_us} µs: mean |TE| {mean:.1} µs over ten seeds, worst seed {worst:.1} µs (chrony {chrony})"
        );
        assert!(mean < limit_us, "{mean} µs ≥ {limit_us} µs");
    }
}

#[test]
fn f_interleaved_mode_keeps_the_accuracy() {
    // The simulator's servers stamp their replies exactly, so interleaved mode cannot gain
    // here; what it costs is age: each sample is a poll old when it arrives (128 s once the
    // poll has grown), brought up to date by the corrections applied since but not by the
    // frequency error meanwhile. Measured: 10 µs 4.1 → 5.0 µs, 100 µs 39.0 → 42.7 µs.
    for jitter_us in [10, 100] {
        let mean = |interleave| {
            (1..=10)
                .map(|seed| {
                    let j = Duration::from_micros(jitter_us);
                    ntp::jitter_accuracy(seed, j, 4000, 2000, interleave).0
                })
                .sum::<f64>()
                / 10.0
        };
        let (basic, interleaved) = (mean(false), mean(true));
        eprintln!(
            "jitter {jitter_us} µs: mean |TE| basic {basic:.1} µs, interleaved {interleaved:.1} µs"
        );
        assert!(
            interleaved < basic * 1.3,
            "{interleaved} µs vs {basic} µs basic"
        );
    }
}

#[test]
fn g_keys_and_access() {
    let on = ntp::keys_and_access(10, 300, true);
    let off = ntp::keys_and_access(10, 300, false);
    eprintln!("keys/access kod on: {on:?}\n  off: {off:?}");
    assert!(on.right_key_synced && !on.wrong_key_synced);
    assert!(on.server_auth_failures > 0);
    assert!(
        on.limited_kod.0 > 0 && on.limited_kod.1 > 0,
        "RATE received and the poll backed off"
    );
    assert!(on.denied_kod > 0 && off.denied_kod == 0);
    assert!(on.rate_table.0 <= on.rate_table.1);
}

#[test]
fn h_startup_under_pdv() {
    // The namespace harness's case: 5 ms and 20 ppm off, minpoll 4, 200 µs each way plus
    // exponential PDV of mean 100 µs and up to 150 µs more from the relay's scheduling. The
    // clock is steered from the first fit that clearly differs from no correction (before,
    // it drifted at 20 ppm until the measurement ended: about 1.1 ms at 60 s); when the early
    // fits are poor that is 50 to 70 s in, so a few seeds are still far off at 60 s. Over 200
    // seeds the last minute of four stayed within 227 µs (99 % within 211 µs).
    let runs: Vec<ntp::StartupUnderPdv> = (1..=20)
        .map(|seed| {
            let relay = PdvModel::Uniform {
                max: Duration::from_micros(150),
            };
            ntp::startup_under_pdv(seed, Duration::from_micros(100), relay, 240)
        })
        .collect();
    let max = |f: fn(&ntp::StartupUnderPdv) -> f64| runs.iter().map(f).fold(0.0, f64::max);
    let mean_60 = runs.iter().map(|r| r.at_60).sum::<f64>() / runs.len() as f64;
    let (worst_60, worst_last) = (max(|r| r.at_60), max(|r| r.last_minute));
    eprintln!(
        "start-up under PDV: |TE| at 60 s mean {mean_60:.1} µs, worst {worst_60:.1} µs; \
         worst over the fourth minute {worst_last:.1} µs"
    );
    assert!(mean_60 < 300.0 && worst_60 < 1300.0, "{runs:?}");
    assert!(worst_last < 300.0, "{runs:?}");
}
