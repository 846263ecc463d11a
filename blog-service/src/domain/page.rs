//! [`Page`]: the `page`/`limit` query (spec 0.6).

/// Inclusive bounds of `page` and `limit`.
const MAX: i64 = 1000;

/// A validated page: both values in 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub limit: u32,
}

impl Page {
    /// Validates the raw query values as goserve's `Pagination` DTO does: first the integer parse
    /// (Go's `strconv.ParseInt` text, which aborts binding), then `required` (stage 1), then
    /// `min=1,max=1000` (stage 2); each stage joins its messages with `", "`.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Self, String> {
        let page = parse_int(page)?;
        let limit = parse_int(limit)?;
        let required: Vec<String> = [("page", page), ("limit", limit)]
            .iter()
            .filter(|(_, value)| *value == 0)
            .map(|(name, _)| format!("{name} is required"))
            .collect();
        if !required.is_empty() {
            return Err(required.join(", "));
        }
        let range: Vec<String> = [("page", page), ("limit", limit)]
            .iter()
            .filter_map(|(name, value)| {
                if *value < 1 {
                    Some(format!("{name} must be min 1"))
                } else if *value > MAX {
                    // spec 0.4: no space in `maxN` (sic)
                    Some(format!("{name} must be max{MAX}"))
                } else {
                    None
                }
            })
            .collect();
        if !range.is_empty() {
            return Err(range.join(", "));
        }
        Ok(Self {
            page: u32::try_from(page).expect("BUG: checked to be in 1..=1000"),
            limit: u32::try_from(limit).expect("BUG: checked to be in 1..=1000"),
        })
    }

    /// Rows to skip: `(page - 1) * limit`.
    pub fn skip(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.limit)
    }
}

/// gin's form binding: missing or empty → 0; otherwise `strconv.ParseInt(s, 10, 64)`.
fn parse_int(raw: Option<&str>) -> Result<i64, String> {
    match raw {
        None | Some("") => Ok(0),
        Some(text) => {
            let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    go_quote(text)
                ));
            }
            text.parse::<i64>().map_err(|_| {
                format!(
                    "strconv.ParseInt: parsing {}: value out of range",
                    go_quote(text)
                )
            })
        }
    }
}

/// Go's `strconv.Quote` for the printable cases (serde_json escaping is close enough for the rest).
fn go_quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(page, limit, expected (page, limit) or message)`.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        Result<(u32, u32), &'static str>,
    );

    #[test]
    fn pagination_messages_follow_the_contract() {
        let cases: &[Case] = &[
            (Some("1"), Some("10"), Ok((1, 10))),
            (Some("1000"), Some("1000"), Ok((1000, 1000))),
            (None, None, Err("page is required, limit is required")),
            (Some("0"), Some("5"), Err("page is required")),
            (Some(""), Some("5"), Err("page is required")),
            (Some("-1"), Some("5"), Err("page must be min 1")),
            (
                Some("1001"),
                Some("5000"),
                Err("page must be max1000, limit must be max1000"),
            ),
            (
                Some("abc"),
                Some("5"),
                Err("strconv.ParseInt: parsing \"abc\": invalid syntax"),
            ),
            (
                Some("1"),
                Some("1.5"),
                Err("strconv.ParseInt: parsing \"1.5\": invalid syntax"),
            ),
            (
                Some("99999999999999999999"),
                Some("1"),
                Err("strconv.ParseInt: parsing \"99999999999999999999\": value out of range"),
            ),
        ];
        for (page, limit, expected) in cases {
            let got = Page::parse(*page, *limit).map(|p| (p.page, p.limit));
            assert_eq!(
                got,
                expected.map_err(str::to_owned),
                "page {page:?} limit {limit:?}"
            );
        }
    }

    #[test]
    fn skip_is_page_minus_one_times_limit() {
        let page = Page::parse(Some("3"), Some("20")).unwrap();
        assert_eq!(page.skip(), 40);
    }
}
