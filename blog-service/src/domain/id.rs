//! [`Id`]: a 24-hex ObjectId, the id of blogs and users on the wire and in both stores.

use std::fmt;

/// A 12-byte ObjectId kept as its lowercase 24-hex text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

/// Why a path `:id` was refused (spec 0.5, D9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 24 code points.
    #[error("id must be of length 24")]
    Length,
    /// 24 code points but not hex (D9: gomicro silently used the zero id).
    #[error("id is invalid")]
    NotHex,
}

impl Id {
    /// Parses a path id: 24 code points (spec 0.5), all hex (D9). Upper-case hex is accepted and
    /// stored lower-case, as ObjectId parsing does.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.chars().count() != 24 {
            return Err(IdError::Length);
        }
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdError::NotHex);
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    /// A fresh ObjectId (time + random + counter), as Mongo drivers generate them.
    pub fn generate() -> Self {
        Self(mongodb::bson::oid::ObjectId::new().to_hex())
    }

    /// The 24-hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the all-zero id (which `required` rejects).
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_24_hex_code_points() {
        assert_eq!(Id::parse("abc"), Err(IdError::Length));
        assert_eq!(Id::parse(&"a".repeat(25)), Err(IdError::Length));
        assert_eq!(
            Id::parse(&"é".repeat(24)),
            Err(IdError::NotHex),
            "24 code points"
        );
        assert_eq!(Id::parse(&"z".repeat(24)), Err(IdError::NotHex));
        assert_eq!(
            Id::parse("65A1B2C3D4E5F6A7B8C9D0E1").unwrap().as_str(),
            "65a1b2c3d4e5f6a7b8c9d0e1"
        );
        assert_eq!(IdError::Length.to_string(), "id must be of length 24");
        assert_eq!(IdError::NotHex.to_string(), "id is invalid");
    }

    #[test]
    fn generated_ids_are_unique_hex() {
        let (a, b) = (Id::generate(), Id::generate());
        assert_ne!(a, b);
        assert_eq!(Id::parse(a.as_str()).unwrap(), a);
        assert!(!a.is_zero());
        assert!(Id::parse(&"0".repeat(24)).unwrap().is_zero());
    }
}
