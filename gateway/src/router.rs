//! TEMPORARY interface stub; replaced by the real router.
use std::borrow::Cow;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Prefix(String),
    Regex(String),
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathHandling {
    #[default]
    V0,
    V1,
}
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub paths: Vec<PathPattern>,
    pub methods: Vec<String>,
    pub hosts: Vec<String>,
    pub headers: Vec<(String, Vec<String>)>,
    pub regex_priority: i64,
    pub strip_path: bool,
    pub path_handling: PathHandling,
}
#[derive(Debug)]
pub struct RouteTable {
    specs: Vec<RouteSpec>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMatch {
    pub route: usize,
    pub matched_len: usize,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBuildError {
    pub route: usize,
    pub path: usize,
    pub message: String,
}
impl RouteTable {
    pub fn build(specs: &[RouteSpec]) -> Result<RouteTable, Vec<RouteBuildError>> {
        Ok(Self {
            specs: specs.to_vec(),
        })
    }
    pub fn find(
        &self,
        _method: &str,
        _host: Option<&str>,
        path: &str,
        _headers: &http::HeaderMap,
    ) -> Option<RouteMatch> {
        self.specs.iter().enumerate().find_map(|(i, s)| {
            s.paths.iter().find_map(|p| match p {
                PathPattern::Prefix(p) if path.starts_with(p.as_str()) => Some(RouteMatch {
                    route: i,
                    matched_len: p.len(),
                }),
                _ => None,
            })
        })
    }
    pub fn len(&self) -> usize {
        self.specs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}
pub fn normalize_path(raw: &str) -> Cow<'_, str> {
    Cow::Borrowed(raw)
}
pub fn upstream_path(
    service_path: Option<&str>,
    request_path: &str,
    strip: bool,
    matched_len: usize,
    _handling: PathHandling,
) -> String {
    let rest = if strip {
        &request_path[matched_len..]
    } else {
        request_path
    };
    format!(
        "{}{}",
        service_path.unwrap_or(""),
        if rest.is_empty() { "/" } else { rest }
    )
}
pub fn escape_path(path: &str) -> Cow<'_, str> {
    Cow::Borrowed(path)
}
