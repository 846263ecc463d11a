//! Field validation with the CreateBlog/UpdateBlog message templates of spec 0.4: each field reports
//! its first failing rule; messages are joined with `", "` in field order.

/// Rules of one string field, checked in this order: required, min, max, uri (as the tags are
/// written in gomicro's DTOs; `uri` comes before `max` for `imgUrl`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TextRules {
    /// `required`: non-empty.
    pub required: bool,
    /// `min=N` code points.
    pub min: Option<usize>,
    /// `max=N` code points.
    pub max: Option<usize>,
    /// `uri`.
    pub uri: bool,
}

/// Collected violations of one DTO.
#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a string field; `None` (absent or null) is `""` for `required` fields and skips the
    /// rules for optional ones (a pointer with `omitempty`).
    pub fn text(&mut self, field: &str, value: Option<&str>, rules: TextRules) {
        let value = match (value, rules.required) {
            (None, false) => return,
            (None, true) => "",
            (Some(value), _) => value,
        };
        let len = value.chars().count();
        let message = if rules.required && value.is_empty() {
            Some(format!("{field} is required"))
        } else if rules.min.is_some_and(|min| len < min) {
            Some(format!(
                "{field} must be at least {} size",
                rules.min.unwrap_or_default()
            ))
        } else if rules.uri && !is_valid_uri(value) {
            Some(format!("{field} must be a valid URI"))
        } else if rules.max.is_some_and(|max| len > max) {
            Some(format!(
                "{field} must be at most {} size",
                rules.max.unwrap_or_default()
            ))
        } else {
            None
        };
        self.0.extend(message);
    }

    /// Checks `tags`: (`required`,) `min=1`, then each element `uppercase` (`tags[i] must be uppercase`).
    pub fn tags(&mut self, field: &str, value: Option<&[String]>, required: bool) {
        let Some(tags) = value else {
            if required {
                self.0.push(format!("{field} is required"));
            }
            return;
        };
        if tags.is_empty() {
            self.0.push(format!("{field} must be at least 1 size"));
            return;
        }
        for (index, tag) in tags.iter().enumerate() {
            if !is_uppercase(tag) {
                self.0.push(format!("{field}[{index}] must be uppercase"));
            }
        }
    }

    /// Adds a message as is.
    pub fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    /// `Ok` when nothing failed, else the joined message.
    pub fn finish(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join(", "))
        }
    }
}

/// go-playground's `uppercase`: non-empty and equal to its upper-cased form.
pub fn is_uppercase(value: &str) -> bool {
    !value.is_empty() && value.to_uppercase() == value
}

/// go-playground's `uri`: strip `#fragment`, non-empty, then Go's `url.ParseRequestURI`: a path
/// starting with `/` or a URI with a scheme (`[A-Za-z][A-Za-z0-9+.-]*:`); no control characters,
/// and a `//authority` must not contain spaces.
pub fn is_valid_uri(value: &str) -> bool {
    let value = value.split('#').next().unwrap_or_default();
    if value.is_empty() || value.chars().any(|c| c.is_control()) {
        return false;
    }
    if value.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return false;
    }
    match rest.strip_prefix("//") {
        Some(authority) => {
            let host = authority.split(['/', '?']).next().unwrap_or_default();
            !host.contains(' ')
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_follows_go_parse_request_uri() {
        for ok in [
            "https://example.com/a.png",
            "/images/a.png",
            "file:/x",
            "mailto:a@b.c",
            "http://x.com/a b",
            "https://ünï.example/",
        ] {
            assert!(is_valid_uri(ok), "{ok:?} should be a URI");
        }
        for bad in [
            "",
            "image.png",
            "://x",
            "1http://x",
            "http://a b/",
            "#frag",
            "a\nb",
        ] {
            assert!(!is_valid_uri(bad), "{bad:?} should not be a URI");
        }
    }

    #[test]
    fn uppercase_allows_digits_and_rejects_empty() {
        assert!(is_uppercase("RUST-2"));
        assert!(is_uppercase("ÜBER"));
        assert!(!is_uppercase("Rust"));
        assert!(!is_uppercase(""));
    }

    #[test]
    fn each_field_reports_its_first_failing_rule() {
        let rules = TextRules {
            required: true,
            min: Some(3),
            max: Some(5),
            uri: false,
        };
        let mut v = Violations::new();
        v.text("a", None, rules);
        v.text("b", Some("xy"), rules);
        v.text("c", Some("éééééé"), rules);
        v.text("d", Some("ééé"), rules);
        v.tags("tags", Some(&["A".into(), "b".into(), "c".into()]), true);
        assert_eq!(
            v.finish().unwrap_err(),
            "a is required, b must be at least 3 size, c must be at most 5 size, \
             tags[1] must be uppercase, tags[2] must be uppercase"
        );
    }
}
