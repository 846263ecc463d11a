//! Slugs: the path `:slug` rule (spec 0.4) and the normalisation applied on create/update (spec 6).

/// A path slug: 3..=200 code points (spec 1.3 `GET /slug/:slug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a path slug; the error is the contract's message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let len = text.chars().count();
        if len == 0 {
            Err("slug is required".to_owned())
        } else if len < 3 {
            Err("slug must be at least 3 characters".to_owned())
        } else if len > 200 {
            Err("slug must be at most 200 characters".to_owned())
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// gomicro's slug normalisation (spec 1.3 create step 1): remove spaces, `/` → `-`, remove `?`.
/// Nothing else changes (no lower-casing).
pub fn normalise_slug(slug: &str) -> String {
    slug.replace(' ', "").replace('/', "-").replace('?', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_removes_spaces_and_question_marks_and_replaces_slashes() {
        let cases = [
            ("my blog", "myblog"),
            ("a/b/c", "a-b-c"),
            ("what?now", "whatnow"),
            (" A b /?C ", "Ab-C"),
            ("Ünïcode-Slug", "Ünïcode-Slug"),
            ("tab\tstays", "tab\tstays"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise_slug(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn path_slugs_count_code_points() {
        assert_eq!(
            Slug::parse("ab").unwrap_err(),
            "slug must be at least 3 characters"
        );
        assert!(Slug::parse("ééé").is_ok());
        assert!(Slug::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            Slug::parse(&"a".repeat(201)).unwrap_err(),
            "slug must be at most 200 characters"
        );
    }
}
