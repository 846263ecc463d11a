//! Validated sign-up and sign-in input (spec 1.1 field tables, 0.4 validation rules and messages).
//!
//! Validation runs in gomicro's two stages: first the `binding:"required"` checks; only when all of
//! them pass, the `validate:"..."` checks (one message per field, the first failing rule). Each stage's
//! messages are joined with `", "` in field order.

/// bcrypt reads at most this many bytes of a password.
pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// The 400 message of a failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// A valid sign-up request.
#[derive(Debug, Clone)]
pub struct SignUpInput {
    /// Email (HTML5-style address).
    pub email: String,
    /// Plain password, 6..=100 code points and at most 72 bytes.
    pub password: String,
    /// Name, 2..=200 code points.
    pub name: String,
    /// Optional picture URL (absolute, at most 500 code points).
    pub profile_pic_url: Option<String>,
}

impl SignUpInput {
    /// Validates the raw fields (`None` = absent or `null`).
    pub fn parse(
        email: Option<String>,
        password: Option<String>,
        name: Option<String>,
        profile_pic_url: Option<String>,
    ) -> Result<Self, ValidationError> {
        let email = email.unwrap_or_default();
        let password = password.unwrap_or_default();
        let name = name.unwrap_or_default();
        // spec 0.4: `omitempty` on a pointer skips only null/absent; `""` is checked (and fails `url`)
        required(&[("email", &email), ("password", &password), ("name", &name)])?;
        let mut problems = Vec::new();
        if !is_email(&email) {
            problems.push("email is not a valid email".to_owned());
        }
        if let Some(problem) = password_problem(&password) {
            problems.push(problem);
        }
        if let Some(problem) = length_problem("name", &name, 2, 200) {
            problems.push(problem);
        }
        if let Some(url) = &profile_pic_url {
            if !is_url(url) {
                problems.push("profilePicUrl is not a valid URL".to_owned());
            } else if url.chars().count() > 500 {
                // gomicro's user model caps it at 500 and answered 500; a client error here.
                problems.push("profilePicUrl must be at most 500 characters".to_owned());
            }
        }
        finish(problems)?;
        Ok(Self {
            email,
            password,
            name,
            profile_pic_url,
        })
    }
}

/// A valid sign-in request.
#[derive(Debug, Clone)]
pub struct SignInInput {
    /// Email.
    pub email: String,
    /// Plain password, 6..=100 code points.
    pub password: String,
}

impl SignInInput {
    /// Validates the raw fields (`None` = absent or `null`).
    pub fn parse(email: Option<String>, password: Option<String>) -> Result<Self, ValidationError> {
        let email = email.unwrap_or_default();
        let password = password.unwrap_or_default();
        required(&[("email", &email), ("password", &password)])?;
        let mut problems = Vec::new();
        if !is_email(&email) {
            problems.push("email is not a valid email".to_owned());
        }
        if let Some(problem) = length_problem("password", &password, 6, 100) {
            problems.push(problem);
        }
        finish(problems)?;
        Ok(Self { email, password })
    }
}

/// Stage 1: `X is required` for every empty field.
pub fn required(fields: &[(&str, &str)]) -> Result<(), ValidationError> {
    finish(
        fields
            .iter()
            .filter(|(_, value)| value.is_empty())
            .map(|(name, _)| format!("{name} is required"))
            .collect(),
    )
}

fn finish(problems: Vec<String>) -> Result<(), ValidationError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationError(problems.join(", ")))
    }
}

fn length_problem(field: &str, value: &str, min: usize, max: usize) -> Option<String> {
    let count = value.chars().count();
    if count < min {
        Some(format!("{field} must be at least {min} characters"))
    } else if count > max {
        Some(format!("{field} must be at most {max} characters"))
    } else {
        None
    }
}

/// Password rules for new passwords: 6..=100 code points (spec), and at most 72 bytes, because bcrypt
/// ignores everything after byte 72 (gomicro answered 500 `bcrypt: password length exceeds 72 bytes`;
/// we keep the text and make it the client error it is).
pub fn password_problem(password: &str) -> Option<String> {
    length_problem("password", password, 6, 100).or_else(|| {
        (password.len() > BCRYPT_MAX_PASSWORD_BYTES)
            .then(|| "bcrypt: password length exceeds 72 bytes".to_owned())
    })
}

/// Characters go-playground's email regex allows besides ASCII letters and digits: the RFC 5322 atext
/// specials and the Unicode ranges `U+00A0..U+D7FF`, `U+F900..U+FDCF`, `U+FDF0..U+FFEF`.
fn is_unicode_letter(c: char) -> bool {
    matches!(c, '\u{00A0}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFEF}')
}

/// An approximation of go-playground's `email` rule: dot-atom local part, `@`, a domain of at least two
/// labels of letters, digits (Unicode allowed) and inner hyphens.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || "!#$%&'*+-/=?^_`{|}~".contains(c)
                        || is_unicode_letter(c)
                })
        });
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || is_unicode_letter(c))
        });
    local_ok && domain_ok
}

/// go-playground's `url` rule, simplified: a scheme (`[a-z][a-z0-9+.-]*`), then `//` and a non-empty
/// host, or a `file:` URL; no whitespace.
fn is_url(value: &str) -> bool {
    let lower = value.to_lowercase();
    if lower.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((scheme, rest)) = lower.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if !scheme_ok {
        return false;
    }
    if scheme == "file" {
        return rest.starts_with('/');
    }
    rest.strip_prefix("//")
        .map(|authority| authority.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(|host| !host.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_up(
        email: &str,
        password: &str,
        name: &str,
        url: Option<&str>,
    ) -> Result<SignUpInput, ValidationError> {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        SignUpInput::parse(opt(email), opt(password), opt(name), url.map(str::to_owned))
    }

    #[test]
    fn sign_up_messages_follow_the_two_stages() {
        let cases: &[(&str, &str, &str, Option<&str>, &str)] = &[
            (
                "",
                "",
                "",
                None,
                "email is required, password is required, name is required",
            ),
            ("bad", "1", "", None, "name is required"),
            (
                "bad",
                "1",
                "x",
                None,
                "email is not a valid email, password must be at least 6 characters, name must be at least 2 characters",
            ),
            (
                "a@b.co",
                "123456",
                "ok",
                Some("not a url"),
                "profilePicUrl is not a valid URL",
            ),
            (
                "a@b.co",
                &"p".repeat(101),
                "ok",
                None,
                "password must be at most 100 characters",
            ),
            (
                "a@b.co",
                &"é".repeat(40),
                "ok",
                None,
                "bcrypt: password length exceeds 72 bytes",
            ),
            (
                "a@b.co",
                "123456",
                &"n".repeat(201),
                None,
                "name must be at most 200 characters",
            ),
        ];
        for (email, password, name, url, expected) in cases {
            let err = sign_up(email, password, name, *url).unwrap_err();
            assert_eq!(
                err.0, *expected,
                "case {email:?} {password:?} {name:?} {url:?}"
            );
        }
    }

    #[test]
    fn sign_up_accepts_unicode_names_and_emails() {
        let ok = sign_up(
            "jürgen@exämple.de",
            "123456",
            "Jürgen 山田",
            Some("https://x.io/p.png"),
        )
        .unwrap();
        assert_eq!(ok.name, "Jürgen 山田");
        assert_eq!(
            sign_up("a@b.co", "123456", "ok", Some("")).unwrap_err().0,
            "profilePicUrl is not a valid URL",
            "an empty URL is validated, only null/absent skip the rule"
        );
        assert!(
            sign_up("a@b.co", "123456", "ok", None)
                .unwrap()
                .profile_pic_url
                .is_none()
        );
    }

    #[test]
    fn emails_and_urls_are_checked() {
        for good in ["a@b.co", "first.last+tag@sub.example.org", "ü@ü.de"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.co",
            "a@b",
            "a b@c.de",
            "a..b@c.de",
            "a@-b.de",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for good in ["https://x.io", "HTTP://X.IO/a?b", "file:///tmp/x"] {
            assert!(is_url(good), "{good}");
        }
        for bad in ["x.io", "https://", "://x", "http://a b"] {
            assert!(!is_url(bad), "{bad}");
        }
    }
}
