//! Run labels in the seed's form `YYYY-MM-DD-HHMMSS-<6 hex>` (UTC), which its cleanup and
//! history tools recognise (`^\d{4}-\d{2}-\d{2}-\d{6}-[a-f0-9]{6}$`).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A new run label for `now`; the hex tail is random enough that two runs in one second differ.
pub fn run_label(now: DateTime<Utc>) -> String {
    let mut h = Sha256::new();
    h.update(now.timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let mut local = [0u8; 8];
    // Stack address entropy: differs between calls in one process and between processes.
    h.update((std::ptr::addr_of!(local) as usize).to_le_bytes());
    local.copy_from_slice(&h.finalize()[..8]);
    format!(
        "{}-{}",
        now.format("%Y-%m-%d-%H%M%S"),
        &hex::encode(local)[..6]
    )
}

/// Whether `s` has the seed's run-label shape.
pub fn is_run_label(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 | 10 | 17 => c == b'-',
            18..=23 => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_have_the_seed_shape() {
        let now = DateTime::parse_from_rfc3339("2025-12-03T17:48:54Z")
            .unwrap()
            .with_timezone(&Utc);
        let l = run_label(now);
        assert!(l.starts_with("2025-12-03-174854-"), "{l}");
        assert!(is_run_label(&l), "{l}");
        assert!(is_run_label("2025-12-03-174854-6a800c"));
        assert!(!is_run_label("2025-12-03-174854-6A800C"));
        assert!(!is_run_label("2025-12-03-17485-6a800c0"));
    }
}
