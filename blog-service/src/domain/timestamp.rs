//! [`Timestamp`]: UTC milliseconds, rendered as Mongo dates read by Go are (spec 0.7).

use std::fmt;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch (Mongo's date precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Now, truncated to milliseconds.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self(i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with the fraction trimmed of trailing zeros: `2026-01-15T10:00:00.12Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let Ok(at) = OffsetDateTime::from_unix_timestamp(seconds) else {
            return write!(f, "{}", self.0);
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )?;
        if millis != 0 {
            let fraction = format!("{millis:03}");
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_go_rfc3339_nano() {
        assert_eq!(
            Timestamp(1_768_471_200_123).to_string(),
            "2026-01-15T10:00:00.123Z"
        );
        assert_eq!(
            Timestamp(1_768_471_200_120).to_string(),
            "2026-01-15T10:00:00.12Z"
        );
        assert_eq!(
            Timestamp(1_768_471_200_000).to_string(),
            "2026-01-15T10:00:00Z"
        );
    }
}
