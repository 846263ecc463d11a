//! [`Id`]: a 12-byte ObjectId-shaped identifier, 24 lowercase hex characters on the wire.
//!
//! Both backends use it, so ids look the same on SQLite and MongoDB (spec 0.7).

use std::fmt;

/// A document id: 12 bytes, shown as 24 lowercase hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 12]);

/// Why a string is not an [`Id`]; texts follow spec 0.4 (MongoId) and D9.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not exactly 24 characters (code points).
    #[error("id must be of length 24")]
    Length,
    /// 24 characters, but not hex (D9: gomicro silently used the zero id).
    #[error("id is invalid")]
    NotHex,
}

impl Id {
    /// A fresh id, generated like a MongoDB ObjectId (timestamp, random, counter).
    pub fn generate() -> Self {
        Self(mongodb::bson::oid::ObjectId::new().bytes())
    }

    /// Parses a 24-hex-character string (either case).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.chars().count() != 24 {
            return Err(IdError::Length);
        }
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| IdError::NotHex)?;
        Ok(Self(bytes))
    }

    /// The raw bytes.
    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }

    /// Builds an id from raw bytes.
    pub fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_24_hex_and_round_trips() {
        let id = Id::parse("65A1b2c3d4e5f6a7b8c9d0e1").unwrap();
        assert_eq!(id.to_string(), "65a1b2c3d4e5f6a7b8c9d0e1");
        let fresh = Id::generate();
        assert_eq!(Id::parse(&fresh.to_string()).unwrap(), fresh);
    }

    #[test]
    fn parse_rejects_wrong_length_and_non_hex() {
        let cases = [
            ("", IdError::Length),
            ("abc", IdError::Length),
            ("65a1b2c3d4e5f6a7b8c9d0e1ff", IdError::Length),
            ("zzzzzzzzzzzzzzzzzzzzzzzz", IdError::NotHex),
            ("ééééééééééééééééééééééé1", IdError::NotHex),
        ];
        for (input, expected) in cases {
            assert_eq!(Id::parse(input), Err(expected), "input {input:?}");
        }
    }
}
