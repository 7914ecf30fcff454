//! Traffic shapes as pure arrival-time generators: each yields event-time offsets in nanoseconds from
//! the run's base, in increasing order, for `duration` seconds.
//!
//! - [`Uniform`]: exactly `rate` events in each second, evenly spaced.
//! - [`Poisson`]: a true Poisson process of intensity `rate` (independent exponential gaps; the seed
//!   normalised gaps inside each second, which is not Poisson).
//! - [`Mmpp`]: a two-state Markov-modulated Poisson process; the state rates are in ratio
//!   `ratio` and chosen so the long-run mean is `rate`.

use adstream_profile::Generator;
use adstream_profile::profile::MmppSection;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

const NS_PER_S: f64 = 1e9;

/// Exactly `rate` arrivals each second at `second + i/rate`.
#[derive(Debug, Clone)]
pub struct Uniform {
    rate: u64,
    seconds: u64,
    second: u64,
    index: u64,
}

impl Uniform {
    /// `rate` events per second for `seconds` seconds.
    pub fn new(rate: u64, seconds: u64) -> Self {
        Self {
            rate,
            seconds,
            second: 0,
            index: 0,
        }
    }
}

impl Iterator for Uniform {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.second >= self.seconds || self.rate == 0 {
            return None;
        }
        let offset = self.second * 1_000_000_000 + self.index * 1_000_000_000 / self.rate;
        self.index += 1;
        if self.index == self.rate {
            self.index = 0;
            self.second += 1;
        }
        Some(offset)
    }
}

/// A Poisson process: independent exponential gaps of mean `1/rate` seconds.
#[derive(Debug, Clone)]
pub struct Poisson {
    gaps: Exp<f64>,
    rng: ChaCha8Rng,
    now_s: f64,
    end_s: f64,
}

impl Poisson {
    /// Intensity `rate` per second for `seconds` seconds, drawing from `rng`.
    pub fn new(rate: f64, seconds: u64, rng: ChaCha8Rng) -> Self {
        Self {
            gaps: Exp::new(rate).expect("rate is positive"),
            rng,
            now_s: 0.0,
            end_s: seconds as f64,
        }
    }
}

impl Iterator for Poisson {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.now_s += self.gaps.sample(&mut self.rng);
        (self.now_s < self.end_s).then_some((self.now_s * NS_PER_S) as u64)
    }
}

/// The two states of an [`Mmpp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmppState {
    /// Bursts: intensity `ratio` times the low state's.
    High = 0,
    /// Lulls.
    Low = 1,
}

/// A two-state Markov-modulated Poisson process. It keeps the time spent and arrivals made in each
/// state so its statistics can be checked.
#[derive(Debug, Clone)]
pub struct Mmpp {
    intensity: [Exp<f64>; 2],
    holding: [Exp<f64>; 2],
    rates: [f64; 2],
    rng: ChaCha8Rng,
    state: MmppState,
    now_s: f64,
    state_since_s: f64,
    next_switch_s: f64,
    end_s: f64,
    time_in_state_s: [f64; 2],
    arrivals_in_state: [u64; 2],
    done: bool,
}

impl Mmpp {
    /// Long-run mean `rate` per second for `seconds` seconds with the given parameters (validated by
    /// the profile: ratio ≥ 1, switching rates positive), drawing from `rng`.
    pub fn new(rate: f64, seconds: u64, params: &MmppSection, mut rng: ChaCha8Rng) -> Self {
        let rates = Self::state_rates(rate, params);
        // Start in the stationary distribution so there is no warm-up transient.
        let p_high = params.q21 / (params.q12 + params.q21);
        let state = if rng.random::<f64>() < p_high {
            MmppState::High
        } else {
            MmppState::Low
        };
        let holding = [
            Exp::new(params.q12).expect("q12 is positive"),
            Exp::new(params.q21).expect("q21 is positive"),
        ];
        let next_switch_s = holding[state as usize].sample(&mut rng);
        Self {
            intensity: rates.map(|r| Exp::new(r).expect("state rates are positive")),
            holding,
            rates,
            rng,
            state,
            now_s: 0.0,
            state_since_s: 0.0,
            next_switch_s,
            end_s: seconds as f64,
            time_in_state_s: [0.0; 2],
            arrivals_in_state: [0; 2],
            done: false,
        }
    }

    /// The arrival rates `[high, low]` whose stationary mix is `rate`: with π_high = q21/(q12+q21),
    /// π_high·λ_high + π_low·λ_low = rate and λ_high = ratio·λ_low.
    pub fn state_rates(rate: f64, params: &MmppSection) -> [f64; 2] {
        let p_high = params.q21 / (params.q12 + params.q21);
        let low = rate / (p_high * params.ratio + (1.0 - p_high));
        [params.ratio * low, low]
    }

    /// The intensities `[high, low]` of this process.
    pub fn rates(&self) -> [f64; 2] {
        self.rates
    }

    /// Seconds spent in `[high, low]` so far.
    pub fn time_in_state_s(&self) -> [f64; 2] {
        self.time_in_state_s
    }

    /// Arrivals made in `[high, low]` so far.
    pub fn arrivals_in_state(&self) -> [u64; 2] {
        self.arrivals_in_state
    }

    fn leave_state_at(&mut self, t: f64) {
        self.time_in_state_s[self.state as usize] += t.min(self.end_s) - self.state_since_s;
        self.state_since_s = t;
    }
}

impl Iterator for Mmpp {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        while !self.done {
            // Exponential gaps are memoryless, so a gap that crosses a switch is redrawn from there.
            let candidate = self.now_s + self.intensity[self.state as usize].sample(&mut self.rng);
            if candidate < self.next_switch_s.min(self.end_s) {
                self.now_s = candidate;
                self.arrivals_in_state[self.state as usize] += 1;
                return Some((candidate * NS_PER_S) as u64);
            }
            if self.next_switch_s >= self.end_s {
                self.leave_state_at(self.end_s);
                self.done = true;
                break;
            }
            self.leave_state_at(self.next_switch_s);
            self.now_s = self.next_switch_s;
            self.state = match self.state {
                MmppState::High => MmppState::Low,
                MmppState::Low => MmppState::High,
            };
            self.next_switch_s =
                self.now_s + self.holding[self.state as usize].sample(&mut self.rng);
        }
        None
    }
}

/// Any of the three shapes, chosen by configuration.
#[derive(Debug, Clone)]
pub enum Arrivals {
    /// See [`Uniform`].
    Uniform(Uniform),
    /// See [`Poisson`].
    Poisson(Poisson),
    /// See [`Mmpp`].
    Mmpp(Mmpp),
}

impl Arrivals {
    /// The arrivals of `generator` at `rate` per second for `seconds` seconds.
    pub fn new(
        generator: Generator,
        rate: u64,
        seconds: u64,
        mmpp: &MmppSection,
        rng: ChaCha8Rng,
    ) -> Self {
        match generator {
            Generator::Uniform => Arrivals::Uniform(Uniform::new(rate, seconds)),
            Generator::Poisson => Arrivals::Poisson(Poisson::new(rate as f64, seconds, rng)),
            Generator::Mmpp => Arrivals::Mmpp(Mmpp::new(rate as f64, seconds, mmpp, rng)),
        }
    }
}

impl Iterator for Arrivals {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        match self {
            Arrivals::Uniform(g) => g.next(),
            Arrivals::Poisson(g) => g.next(),
            Arrivals::Mmpp(g) => g.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Events in each whole second of `seconds`.
    fn per_second(offsets: impl Iterator<Item = u64>, seconds: u64) -> Vec<u64> {
        let mut counts = vec![0u64; seconds as usize];
        for t in offsets {
            counts[(t / 1_000_000_000) as usize] += 1;
        }
        counts
    }

    fn mean_and_dispersion(counts: &[u64]) -> (f64, f64) {
        let n = counts.len() as f64;
        let mean = counts.iter().sum::<u64>() as f64 / n;
        let var = counts
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        (mean, var / mean)
    }

    fn assert_increasing_within(offsets: &[u64], seconds: u64) {
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        assert!(offsets.iter().all(|&t| t < seconds * 1_000_000_000));
    }

    #[test]
    fn uniform_sends_exactly_rate_each_second_evenly_spaced() {
        let offsets: Vec<u64> = Uniform::new(2_000, 5).collect();
        assert_eq!(offsets.len(), 10_000);
        assert_increasing_within(&offsets, 5);
        assert_eq!(per_second(offsets.iter().copied(), 5), vec![2_000; 5]);
        assert!(offsets.windows(2).all(|w| w[1] - w[0] == 500_000));
        let odd: Vec<u64> = Uniform::new(3, 2).collect();
        assert_eq!(
            odd,
            [
                0,
                333_333_333,
                666_666_666,
                1_000_000_000,
                1_333_333_333,
                1_666_666_666
            ]
        );
    }

    #[test]
    fn poisson_has_the_mean_rate_and_unit_dispersion() {
        let seconds = 600;
        let offsets: Vec<u64> = Poisson::new(1_000.0, seconds, rng(0)).collect();
        assert_increasing_within(&offsets, seconds);
        let (mean, dispersion) = mean_and_dispersion(&per_second(offsets.into_iter(), seconds));
        assert!((mean - 1_000.0).abs() / 1_000.0 < 0.02, "mean {mean}");
        // For 600 Poisson counts the sample index of dispersion has standard deviation ≈ √(2/599) ≈ 0.06.
        assert!((0.8..1.2).contains(&dispersion), "dispersion {dispersion}");
    }

    #[test]
    fn poisson_gaps_are_exponential_not_normalised_per_second() {
        // Exponential gaps: coefficient of variation 1 (evenly spaced events would give 0).
        let offsets: Vec<u64> = Poisson::new(500.0, 200, rng(2)).collect();
        let gaps: Vec<f64> = offsets.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((sd / mean - 1.0).abs() < 0.05, "cv {}", sd / mean);
    }

    #[test]
    fn mmpp_has_the_mean_rate_is_bursty_and_its_states_are_in_ratio() {
        let seconds = 3_600;
        let params = MmppSection::default();
        let mut mmpp = Mmpp::new(1_000.0, seconds, &params, rng(3));
        let [high, low] = mmpp.rates();
        assert!((high / low - 5.0).abs() < 1e-9);
        assert!(
            ((high + low) / 2.0 - 1_000.0).abs() < 1e-9,
            "stationary mean of equal switching rates"
        );

        let offsets: Vec<u64> = mmpp.by_ref().collect();
        assert_increasing_within(&offsets, seconds);
        let (mean, dispersion) = mean_and_dispersion(&per_second(offsets.into_iter(), seconds));
        assert!((mean - 1_000.0).abs() / 1_000.0 < 0.10, "mean {mean}");
        // Seconds-long bursts at 5× the lulls' rate: counts vary far more than a Poisson process's.
        assert!(dispersion > 50.0, "dispersion {dispersion}");

        let [t_high, t_low] = mmpp.time_in_state_s();
        assert!((t_high + t_low - seconds as f64).abs() < 1e-6);
        let [n_high, n_low] = mmpp.arrivals_in_state();
        let measured_ratio = (n_high as f64 / t_high) / (n_low as f64 / t_low);
        assert!(
            (measured_ratio - 5.0).abs() < 0.1,
            "measured ratio {measured_ratio}"
        );
    }

    #[test]
    fn mmpp_rates_follow_asymmetric_switching() {
        let params = MmppSection {
            ratio: 4.0,
            q12: 1.0,
            q21: 0.25,
        };
        let [high, low] = Mmpp::state_rates(100.0, &params);
        // π_high = 0.25 / 1.25 = 0.2.
        assert!((0.2 * high + 0.8 * low - 100.0).abs() < 1e-9);
        assert!((high / low - 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_same_seed_gives_the_same_arrivals() {
        let params = MmppSection::default();
        let a: Vec<u64> = Arrivals::new(Generator::Mmpp, 100, 30, &params, rng(9)).collect();
        let b: Vec<u64> = Arrivals::new(Generator::Mmpp, 100, 30, &params, rng(9)).collect();
        let c: Vec<u64> = Arrivals::new(Generator::Mmpp, 100, 30, &params, rng(10)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
