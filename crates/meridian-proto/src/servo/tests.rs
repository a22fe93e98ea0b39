//! Both servos against a small plant: a clock with a frequency offset and a phase offset, a
//! constant symmetric path, samples every 1/8 s in each direction.

use super::*;
use crate::time::Duration;

/// Ticks `servo` if due at `at`, then applies everything it emitted to the plant: steps to the
/// phase `theta` (ns), the frequency correction to `freq` (ppb). Returns the steps taken.
fn advance(
    servo: &mut dyn Servo,
    at: Instant,
    out: &mut Vec<ClockAdjustment>,
    theta: &mut f64,
    freq: &mut f64,
) -> usize {
    if servo.next_tick().is_some_and(|n| n <= at) {
        servo.tick(at, out);
    }
    let mut steps = 0;
    for adj in out.drain(..) {
        match adj {
            ClockAdjustment::Step(d) => {
                *theta += d.as_nanos_f64();
                steps += 1;
            }
            ClockAdjustment::Frequency(f) => *freq = f,
        }
    }
    steps
}

/// The plant: true offset θ(t) = θ0 + y·t + corrections; returns θ (ns) at the end and the
/// largest |θ| over the last `tail` seconds.
fn run(servo: &mut dyn Servo, mode: ServoMode, seconds: f64, tail: f64) -> (f64, f64, f64) {
    let y_ppb = 5_000.0;
    let delay_ns = 50_000.0;
    let mut theta = 1_000_000.0; // 1 ms
    let mut freq = 0.0;
    let dt = 0.125;
    let mut t = 0.0;
    let mut worst: f64 = 0.0;
    let mut out = Vec::new();
    while t < seconds {
        let at = Instant::from_origin(Duration::from_secs_f64(t));
        servo.sample(
            Sample::Forward {
                at,
                delay: Duration::from_nanos_f64(theta + delay_ns),
            },
            &mut out,
        );
        if mode == ServoMode::Time {
            servo.sample(
                Sample::Reverse {
                    at,
                    delay: Duration::from_nanos_f64(delay_ns - theta),
                },
                &mut out,
            );
        }
        advance(servo, at, &mut out, &mut theta, &mut freq);
        theta += (y_ppb + freq) * dt;
        t += dt;
        if t > seconds - tail {
            worst = worst.max(theta.abs());
        }
    }
    (theta, worst, freq)
}

#[test]
fn selection_servo_steps_then_locks_time() {
    let at0 = Instant::ZERO;
    let mut s = SelectionServo::new(ServoMode::Time, SelectionParams::default(), at0);
    let (_, worst, freq) = run(&mut s, ServoMode::Time, 300.0, 100.0);
    assert!(worst < 20.0, "|θ| over the last 100 s: {worst} ns");
    assert!((freq + 5_000.0).abs() < 1.0, "frequency {freq} ppb");
    assert_eq!(s.state(), ServoState::Locked);
}

#[test]
fn pi_servo_steps_then_locks_time() {
    let mut s = PiServo::new(
        ServoMode::Time,
        Duration::from_millis(125),
        Duration::from_millis(1),
        Instant::ZERO,
    );
    let (_, worst, freq) = run(&mut s, ServoMode::Time, 120.0, 60.0);
    assert!(worst < 5.0, "|θ| over the last 60 s: {worst} ns");
    assert!((freq + 5_000.0).abs() < 1.0, "frequency {freq} ppb");
}

#[test]
fn frequency_mode_locks_frequency_without_stepping() {
    for servo in [
        Box::new(SelectionServo::new(
            ServoMode::Frequency,
            SelectionParams::default(),
            Instant::ZERO,
        )) as Box<dyn Servo>,
        Box::new(PiServo::new(
            ServoMode::Frequency,
            Duration::from_millis(125),
            Duration::from_millis(1),
            Instant::ZERO,
        )),
    ] {
        let mut servo = servo;
        let (theta, _, freq) = run(servo.as_mut(), ServoMode::Frequency, 300.0, 10.0);
        assert!(
            (freq + 5_000.0).abs() < 1.0,
            "{servo:?}: frequency {freq} ppb"
        );
        // Phase is not recovered in ACR: the 1 ms offset stays roughly where it was.
        assert!(theta.abs() > 900_000.0, "{theta}");
    }
}

#[test]
fn holdover_keeps_the_learned_frequency() {
    let mut s = SelectionServo::new(ServoMode::Time, SelectionParams::default(), Instant::ZERO);
    let _ = run(&mut s, ServoMode::Time, 200.0, 10.0);
    let mut out = Vec::new();
    s.holdover(Instant::from_origin(Duration::from_secs(200)), &mut out);
    assert_eq!(s.state(), ServoState::Holdover);
    let [ClockAdjustment::Frequency(f)] = out[..] else {
        panic!("{out:?}")
    };
    assert!((f + 5_000.0).abs() < 1.0);
}

/// A plant with timestamp noise and random-walk frequency wander, deterministic.
fn noisy_run(servo: &mut dyn Servo, seconds: f64, report: bool) -> Vec<f64> {
    let mut rng = crate::rng::EngineRng::new(7);
    let mut gauss = move || {
        // Sum of 12 uniforms − 6: close enough to a unit normal for a test plant.
        (0..12)
            .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
            .sum::<f64>()
            - 6.0
    };
    let (mut theta, mut y, mut freq) = (1_000_000.0, 5_000.0, 0.0);
    let mut out = Vec::new();
    let mut te = Vec::new();
    let dt = 1.0 / 128.0;
    for k in 0..(seconds / dt) as usize {
        let t = k as f64 * dt;
        let at = Instant::from_origin(Duration::from_secs_f64(t));
        if k % 16 == 0 {
            let d = theta + 50_000.0 + 14.0 * gauss();
            servo.sample(
                Sample::Forward {
                    at,
                    delay: Duration::from_nanos_f64(d),
                },
                &mut out,
            );
        }
        let d = 50_000.0 - theta + 14.0 * gauss();
        servo.sample(
            Sample::Reverse {
                at,
                delay: Duration::from_nanos_f64(d),
            },
            &mut out,
        );
        if servo.next_tick().is_some_and(|n| n <= at) {
            servo.tick(at, &mut out);
            if report && k % (128 * 20) == 0 {
                eprintln!("t={t:.0} θ={theta:.1} {servo:?}");
            }
        }
        for adj in out.drain(..) {
            match adj {
                ClockAdjustment::Step(d) => theta += d.as_nanos_f64(),
                ClockAdjustment::Frequency(f) => freq = f,
            }
        }
        if k % 128 == 0 {
            y += 0.05 * gauss(); // 0.05 ppb per √s random walk
            te.push(theta);
        }
        theta += (y + freq) * dt;
    }
    te
}

fn p99_abs(te: &[f64]) -> f64 {
    let mut v: Vec<f64> = te.iter().map(|x| x.abs()).collect();
    v.sort_by(f64::total_cmp);
    v[(v.len() * 99) / 100]
}

#[test]
fn with_noise_and_wander_selection_tracks_like_pi_or_better() {
    let mut s = SelectionServo::new(ServoMode::Time, SelectionParams::default(), Instant::ZERO);
    let sel = p99_abs(&noisy_run(&mut s, 600.0, false)[300..]);
    let mut p = PiServo::new(
        ServoMode::Time,
        Duration::from_millis(125),
        Duration::from_millis(1),
        Instant::ZERO,
    );
    let pi = p99_abs(&noisy_run(&mut p, 600.0, false)[300..]);
    // 14 ns per sample, 0.05 ppb/√s wander: both within 10 ns, selection no worse than PI.
    assert!(
        sel < 10.0 && sel <= pi,
        "selection {sel:.1} ns, PI {pi:.1} ns"
    );
}

/// A plant that keeps its state across phases of a test: true offset θ (ns), oscillator
/// frequency offset y (ppb), the correction in force.
struct Plant {
    theta: f64,
    y_ppb: f64,
    freq: f64,
    t: f64,
    steps: usize,
}

impl Plant {
    /// A selection servo locked on a plant started 1 ms and 5 ppm off, 200 s in.
    fn locked() -> (SelectionServo, Self) {
        let mut s = SelectionServo::new(ServoMode::Time, SelectionParams::default(), Instant::ZERO);
        let mut p = Plant {
            theta: 1_000_000.0,
            y_ppb: 5_000.0,
            freq: 0.0,
            t: 0.0,
            steps: 0,
        };
        p.run(&mut s, 200.0, true);
        assert_eq!(s.state(), ServoState::Locked);
        (s, p)
    }

    /// Runs `seconds`, sampling both directions every 1/8 s if `samples`.
    fn run(&mut self, servo: &mut dyn Servo, seconds: f64, samples: bool) {
        let dt = 0.125;
        let end = self.t + seconds;
        let mut out = Vec::new();
        while self.t < end {
            let at = Instant::from_origin(Duration::from_secs_f64(self.t));
            if samples {
                for s in [
                    Sample::Forward {
                        at,
                        delay: Duration::from_nanos_f64(self.theta + 50_000.0),
                    },
                    Sample::Reverse {
                        at,
                        delay: Duration::from_nanos_f64(50_000.0 - self.theta),
                    },
                ] {
                    servo.sample(s, &mut out);
                }
            }
            self.steps += advance(servo, at, &mut out, &mut self.theta, &mut self.freq);
            self.theta += (self.y_ppb + self.freq) * dt;
            self.t += dt;
        }
    }
}

#[test]
fn holdover_is_left_by_reacquiring_from_the_held_frequency_without_a_step() {
    let (mut s, mut p) = Plant::locked();
    let steps_before = p.steps;
    // The server goes away for 60 s; meanwhile the oscillator wanders by 2 ppb.
    let mut out = Vec::new();
    s.holdover(Instant::from_origin(Duration::from_secs_f64(p.t)), &mut out);
    for adj in out.drain(..) {
        if let ClockAdjustment::Frequency(f) = adj {
            p.freq = f;
        }
    }
    assert_eq!(s.state(), ServoState::Holdover);
    let held = s.frequency_ppb();
    p.y_ppb += 2.0;
    p.run(&mut s, 60.0, false);
    assert_eq!(s.state(), ServoState::Holdover, "no samples, still holding");
    let drifted = p.theta.abs();
    assert!(drifted > 100.0, "2 ppb for 60 s: {drifted} ns");
    // It comes back: re-acquiring at once, locked again within a minute, without a step and
    // without measuring the frequency from scratch.
    let back = Instant::from_origin(Duration::from_secs_f64(p.t));
    p.run(&mut s, 1.0, true);
    assert_eq!(s.state(), ServoState::Reacquiring);
    assert!(s.state_since() >= back);
    assert!(
        (s.frequency_ppb() - held).abs() < 5.0,
        "restarted from the held frequency"
    );
    p.run(&mut s, 60.0, true);
    assert_eq!(s.state(), ServoState::Locked, "θ = {} ns", p.theta);
    assert_eq!(
        p.steps, steps_before,
        "no phase step for a {drifted:.0}-ns error"
    );
    p.run(&mut s, 60.0, true);
    assert!(p.theta.abs() < 20.0, "θ = {} ns", p.theta);
    assert!((p.freq + p.y_ppb).abs() < 0.5, "frequency {} ppb", p.freq);
}

/// Real sockets with software timestamps, as measured on veth: a 9-µs floor in each direction,
/// exponential kernel/scheduler noise (mean 1.5 µs forward, 1 µs reverse), 1 % of packets
/// delayed 50–250 µs more; the clock starts 5 ms and 20 ppm off (the interop tests'
/// `--virtual-offset-ms 5 --virtual-ppm 20`). Returns the true offset once a second and the
/// servo's state at that moment.
fn software_timestamp_run(rate: u32, seconds: u32, seed: u64) -> Vec<(f64, ServoState)> {
    software_timestamp_run_with(rate, 1, 0.0, seconds, seed)
}

/// As [`software_timestamp_run`], with a reverse sample only every `reverse_every` Syncs (Sync
/// at 128/s, Delay_Req at 8/s is the G.8275.2 default) and Gaussian noise of `sigma` ns on
/// every timestamp.
fn software_timestamp_run_with(
    rate: u32,
    reverse_every: u32,
    sigma: f64,
    seconds: u32,
    seed: u64,
) -> Vec<(f64, ServoState)> {
    let mut rng = crate::rng::EngineRng::new(seed);
    let mut uniform = move || ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let mut s = SelectionServo::new(ServoMode::Time, SelectionParams::default(), Instant::ZERO);
    let (mut theta, y, mut freq) = (5_000_000.0, 20_000.0, 0.0);
    let mut out = Vec::new();
    let mut trace = Vec::new();
    let dt = 1.0 / f64::from(rate);
    for k in 0..seconds * rate {
        let t = f64::from(k) * dt;
        let at = Instant::from_origin(Duration::from_secs_f64(t));
        let mut noise = |mean: f64| {
            let spike = if uniform() < 0.01 {
                50_000.0 + 200_000.0 * uniform()
            } else {
                0.0
            };
            // Two timestamps per delay, each with Gaussian noise (a sum of 12 uniforms).
            let gauss: f64 = (0..24).map(|_| uniform()).sum::<f64>() - 12.0;
            9_000.0 - mean * uniform().ln() + spike + sigma * gauss
        };
        let (fwd, rev) = (noise(1_500.0), noise(1_000.0));
        s.sample(
            Sample::Forward {
                at,
                delay: Duration::from_nanos_f64(theta + fwd),
            },
            &mut out,
        );
        if k % reverse_every == 0 {
            s.sample(
                Sample::Reverse {
                    at,
                    delay: Duration::from_nanos_f64(rev - theta),
                },
                &mut out,
            );
        }
        advance(&mut s, at, &mut out, &mut theta, &mut freq);
        if k % rate == 0 {
            trace.push((theta, s.state()));
        }
        theta += (y + freq) * dt;
    }
    trace
}

/// Mean and RMS of the true offset over [from, to) seconds.
fn mean_rms(trace: &[(f64, ServoState)], from: usize, to: usize) -> (f64, f64) {
    let w = &trace[from..to];
    let n = w.len() as f64;
    let mean = w.iter().map(|x| x.0).sum::<f64>() / n;
    let rms = (w.iter().map(|x| x.0 * x.0).sum::<f64>() / n).sqrt();
    (mean, rms)
}

#[test]
fn with_software_timestamps_phase_is_held_while_the_frequency_is_learned() {
    for (rate, from, bound) in [(128, 30, 500.0), (16, 60, 1_000.0), (8, 60, 1_000.0)] {
        for seed in 1..=5 {
            let trace = software_timestamp_run(rate, 150, seed);
            let (mean, rms) = mean_rms(&trace, from, 150);
            let te: Vec<f64> = trace.iter().map(|x| (x.0 / 100.0).round() / 10.0).collect();
            let locked = trace.iter().position(|x| x.1 == ServoState::Locked);
            eprintln!(
                "{rate}/s seed {seed}: mean {mean:.0} ns, RMS {rms:.0} ns, Locked at {locked:?} s, \
                 first 20 s in µs {:?}",
                &te[..20]
            );
            assert!(
                mean.abs() <= bound && rms <= 2.0 * bound,
                "{rate}/s seed {seed}: mean {mean:.0} ns, RMS {rms:.0} ns over {from}–150 s; µs: {te:?}"
            );
            // After the initial step, the pull-in stays within what 20 ppm makes of the few
            // seconds before the first fit (it once slewed the pre-step error: −500 µs).
            let pull_in = trace[2..30].iter().map(|x| x.0.abs()).fold(0.0, f64::max);
            assert!(pull_in < 60_000.0, "{rate}/s seed {seed}: µs {te:?}");
            // Never "Locked" while the true error is outside the 1-µs budget.
            for (i, (theta, state)) in trace.iter().enumerate() {
                assert!(
                    *state != ServoState::Locked || theta.abs() <= 1_000.0,
                    "{rate}/s seed {seed}: Locked at {i} s with {theta:.0} ns"
                );
            }
        }
    }
}

#[test]
fn floors_of_unequal_sample_counts_are_compared_like_for_like() {
    // Sync at 128/s, Delay_Req at 8/s, 500 ns of noise on every timestamp: the minimum of 16
    // times as many forward samples reaches deeper into the noise, which biased θ = (F − R)/2
    // by hundreds of ns.
    for seed in 1..=8 {
        let trace = software_timestamp_run_with(128, 16, 500.0, 150, seed);
        let (mean, rms) = mean_rms(&trace, 30, 150);
        eprintln!("seed {seed}: mean {mean:.0} ns, RMS {rms:.0} ns");
        assert!(
            mean.abs() < 200.0,
            "seed {seed}: mean {mean:.0} ns, RMS {rms:.0} ns"
        );
    }
}

#[test]
fn locked_is_left_when_the_error_leaves_the_budget_and_regained_after() {
    let (mut s, mut p) = Plant::locked();
    // The clock is knocked 5 µs off (well under the step threshold): within a few ticks the
    // servo no longer claims lock, and it claims it again once the error is back in budget.
    p.theta += 5_000.0;
    let (knocked, steps) = (p.t, p.steps);
    let mut left_at = None;
    while p.t < knocked + 60.0 && left_at.is_none() {
        p.run(&mut s, 1.0, true);
        if s.state() != ServoState::Locked {
            left_at = Some(p.t - knocked);
        }
    }
    let left_at = left_at.expect("still Locked 60 s after a 5-µs error");
    assert!(left_at <= 5.0, "left Locked only after {left_at} s");
    // Back within the 1-µs budget the servo locks again, while the loop (its time constant
    // grown on a quiet path) still slews the rest out.
    let mut relocked = None;
    while p.t < knocked + 120.0 && relocked.is_none() {
        p.run(&mut s, 1.0, true);
        if s.state() == ServoState::Locked {
            relocked = Some((p.t - knocked, p.theta));
        }
    }
    let (after, theta) = relocked.expect("not Locked again within 120 s");
    eprintln!(
        "left Locked {left_at} s after the knock, Locked again after {after} s at {theta:.0} ns"
    );
    assert!(theta.abs() <= 1_000.0, "Locked again at {theta} ns");
    assert_eq!(p.steps, steps, "the 5 µs were slewed, not stepped");
}
