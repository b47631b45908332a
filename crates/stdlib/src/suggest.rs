//! "Did you mean" by edit distance, one rule for every suggestion flow makes (names
//! in a check, input keys and enum values of an on-demand run, workflow names of
//! `/invoke`, cron names and time zones): at most 1 edit for names of up to 3
//! characters, otherwise at most 2 (or a quarter of the name for long names).

pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidates to `name`, best first (at most three).
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Vec<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let max = match name.chars().count() {
        0..=3 => 1,
        n => 2.max(n / 4),
    };
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = levenshtein(&lower, &c.to_ascii_lowercase());
            // A candidate that contains the name as a dotted part also counts
            // (`succeeded` for `payment_intent.succeded` is handled by distance).
            // A prefix of a longer name counts too: "fraud" for "fraudulent".
            let prefix = lower.len() >= 4 && c.to_ascii_lowercase().starts_with(&lower);
            if (d <= max && d > 0) || (d == 0 && c != name) {
                Some((d, c))
            } else if prefix && c != name {
                Some((max + 1, c))
            } else {
                None
            }
        })
        .collect();
    // Prefix matches only when nothing is close by edit distance.
    if scored.iter().any(|(d, _)| *d <= max) {
        scored.retain(|(d, _)| *d <= max);
    }
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// "did you mean `a`?" / "did you mean `a` or `b`?"
pub fn phrase(options: &[&str]) -> Option<String> {
    match options {
        [] => None,
        [one] => Some(format!("did you mean `{one}`?")),
        [init @ .., last] => Some(format!(
            "did you mean {} or `{last}`?",
            init.iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `a charge`, `an invoice`: the word with its indefinite article.
pub fn a(word: &str) -> String {
    let an = word
        .chars()
        .next()
        .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} {word}", if an { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(levenshtein("succeded", "succeeded"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    #[test]
    fn suggests_close_names() {
        let c = ["amount", "amount_received", "currency", "customer"];
        assert_eq!(did_you_mean("amout", c), vec!["amount"]);
        assert_eq!(did_you_mean("custmer", c), vec!["customer"]);
        assert!(did_you_mean("zzzzzz", c).is_empty());
        assert_eq!(did_you_mean("Amount", c), vec!["amount"]);
    }
}
