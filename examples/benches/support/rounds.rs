//! Two contenders measured in interleaved rounds (ours, theirs, theirs, ours, ...): on a noisy
//! machine the median of per-round ratios drifts far less than two separate runs do.

/// The medians of each side's figures, and the per-round ratios, sorted.
pub struct Rounds {
    pub ours: f64,
    pub theirs: f64,
    pub ratios: Vec<f64>,
}

impl Rounds {
    /// Prints `sentence` with `{ratio}` replaced by the median ratio, and the rounds' spread.
    pub fn print_ratio(&self, sentence: &str) {
        let ratio = format!("{:.2}x", median(&self.ratios));
        println!(
            "  {} (median of per-round ratios; rounds from {:.2}x to {:.2}x)",
            sentence.replace("{ratio}", &ratio),
            self.ratios[0],
            self.ratios[self.ratios.len() - 1]
        );
    }
}

/// Runs `rounds` rounds of ours and theirs, in the order ours, theirs, theirs, ours, ...; each
/// round's ratio is `ratio(ours, theirs)`.
pub async fn interleaved(
    rounds: usize,
    ours: impl AsyncFn() -> f64,
    theirs: impl AsyncFn() -> f64,
    ratio: fn(f64, f64) -> f64,
) -> Rounds {
    let (mut ours_figures, mut theirs_figures, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = ours().await;
            (a, theirs().await)
        } else {
            let b = theirs().await;
            (ours().await, b)
        };
        ours_figures.push(a);
        theirs_figures.push(b);
        ratios.push(ratio(a, b));
    }
    ratios.sort_by(f64::total_cmp);
    Rounds {
        ours: median(&ours_figures),
        theirs: median(&theirs_figures),
        ratios,
    }
}

pub fn median(figures: &[f64]) -> f64 {
    let mut sorted = figures.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
