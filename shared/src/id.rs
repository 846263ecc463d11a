//! [`Id`]: the id of every document of both services (users, roles, keystores, API keys, blogs), a
//! 12-byte MongoDB ObjectId shown as 24 lowercase hex characters.
//!
//! Both storage backends use it, so ids look the same on SQLite and MongoDB (spec 0.7); converting
//! to and from a driver's ObjectId is the backend's ([`Id::bytes`], [`Id::from_bytes`]).

use std::fmt;

/// A document id: 12 bytes, kept as their 24 lowercase hex characters (cheap to copy, to show and
/// to compare; the order of the text is the order of the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 24]);

/// Why a string is not an [`Id`]; texts follow spec 0.4 and 0.5 (MongoId) and D9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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
        Self::from_bytes(bson::oid::ObjectId::new().bytes())
    }

    /// Parses 24 hex characters (code points, spec 0.5; hex, D9). Upper-case hex is accepted and
    /// kept lower-case, as ObjectId parsing does.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.chars().count() != 24 {
            return Err(IdError::Length);
        }
        // 24 code points in more than 24 bytes are not all ASCII, so not all hex
        let Ok(mut hex) = <[u8; 24]>::try_from(text.as_bytes()) else {
            return Err(IdError::NotHex);
        };
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(IdError::NotHex);
        }
        hex.make_ascii_lowercase();
        Ok(Self(hex))
    }

    /// Builds an id from raw bytes.
    pub fn from_bytes(bytes: [u8; 12]) -> Self {
        let mut hex = [0u8; 24];
        hex::encode_to_slice(bytes, &mut hex).expect("BUG: 12 bytes are 24 hex characters");
        Self(hex)
    }

    /// The raw bytes.
    pub fn bytes(&self) -> [u8; 12] {
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(self.0, &mut bytes).expect("BUG: an Id holds 24 hex characters");
        bytes
    }

    /// The 24 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("BUG: an Id holds ASCII hex characters only")
    }

    /// Whether this is the all-zero id (which blog's `required` rejects).
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == b'0')
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    #[test]
    fn bytes_round_trip_and_order_as_the_text() {
        let low = Id::from_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff]);
        assert_eq!(low.as_str(), "000102030405060708090aff");
        assert_eq!(Id::from_bytes(low.bytes()), low);
        let high = Id::from_bytes([0x10; 12]);
        assert!(low < high);
    }
}
