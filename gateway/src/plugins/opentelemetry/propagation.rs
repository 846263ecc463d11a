//! Trace context on the wire: reading a client's context from W3C `traceparent`, B3 (multiple
//! `X-B3-*` headers or the single `b3`) and Jaeger's `uber-trace-id`, and writing the gateway's
//! span into the upstream request in the format `header_type` asks for. Pure functions over
//! header maps, with table tests.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::{
    hex::hex,
    plugins::trace::{SpanId, TraceId, traceparent_header},
};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const B3: HeaderName = HeaderName::from_static("b3");
const B3_TRACE_ID: HeaderName = HeaderName::from_static("x-b3-traceid");
const B3_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-spanid");
const B3_PARENT_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
const B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
const B3_FLAGS: HeaderName = HeaderName::from_static("x-b3-flags");
const UBER_TRACE_ID: HeaderName = HeaderName::from_static("uber-trace-id");

/// The wire formats of a trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// W3C Trace Context (`traceparent`).
    W3c,
    /// Zipkin's B3, one header per field.
    B3,
    /// Zipkin's B3 in the single `b3` header.
    B3Single,
    /// Jaeger's `uber-trace-id`.
    Jaeger,
}

/// The context a client sent: its trace, the span the gateway's span is a child of, and its
/// sampling decision when it made one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// The format it came in.
    pub format: Format,
    /// The trace.
    pub trace_id: TraceId,
    /// The client's span: the parent of the gateway's.
    pub parent_span_id: SpanId,
    /// The client's sampling decision (`None`: it left it to the gateway).
    pub sampled: Option<bool>,
}

/// The first context found in `headers`: W3C, then B3 (multiple headers), B3 single, Jaeger.
/// A malformed header is ignored, as if absent.
pub fn extract(headers: &HeaderMap) -> Option<Incoming> {
    let text = |name: &HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    text(&TRACEPARENT)
        .and_then(w3c)
        .or_else(|| {
            b3_multi(
                text(&B3_TRACE_ID)?,
                text(&B3_SPAN_ID)?,
                text(&B3_SAMPLED),
                text(&B3_FLAGS),
            )
        })
        .or_else(|| text(&B3).and_then(b3_single))
        .or_else(|| text(&UBER_TRACE_ID).and_then(jaeger))
}

/// `00-<trace id>-<parent id>-<flags>` (other versions read the same four fields).
fn w3c(value: &str) -> Option<Incoming> {
    let mut fields = value.trim().split('-');
    let version = fields.next()?;
    let (trace, parent, flags) = (fields.next()?, fields.next()?, fields.next()?);
    if version.len() != 2
        || version.eq_ignore_ascii_case("ff")
        || (version == "00" && fields.next().is_some())
    {
        return None;
    }
    let is_lower_hex = |text: &str| {
        text.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !(is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags)) || flags.len() != 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Incoming {
        format: Format::W3c,
        trace_id: trace_id(trace, 32)?,
        parent_span_id: span_id(parent)?,
        sampled: Some(flags & 1 == 1),
    })
}

/// `X-B3-TraceId` (16 or 32 hex), `X-B3-SpanId`, `X-B3-Sampled` (`1`, `0`, `true`, `false`) and
/// `X-B3-Flags: 1` (debug, which means sampled).
fn b3_multi(
    trace: &str,
    span: &str,
    sampled: Option<&str>,
    flags: Option<&str>,
) -> Option<Incoming> {
    let sampled = match (flags.map(str::trim), sampled.map(str::trim)) {
        (Some("1"), _) => Some(true),
        (_, Some("1" | "true")) => Some(true),
        (_, Some("0" | "false")) => Some(false),
        _ => None,
    };
    Some(Incoming {
        format: Format::B3,
        trace_id: trace_id(trace.trim(), 16)?,
        parent_span_id: span_id(span.trim())?,
        sampled,
    })
}

/// `b3: <trace id>-<span id>[-<1|0|d>[-<parent span id>]]`; a bare `0`, `1` or `d` carries no
/// trace and is not a context.
fn b3_single(value: &str) -> Option<Incoming> {
    let mut fields = value.trim().split('-');
    let (trace, span) = (fields.next()?, fields.next()?);
    let sampled = match fields.next() {
        None => None,
        Some("1" | "d") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    Some(Incoming {
        format: Format::B3Single,
        trace_id: trace_id(trace, 16)?,
        parent_span_id: span_id(span)?,
        sampled,
    })
}

/// `uber-trace-id: <trace id>:<span id>:<parent span id>:<flags>` (hex; flags bit 1: sampled).
fn jaeger(value: &str) -> Option<Incoming> {
    let decoded;
    let value = if value.contains("%3A") || value.contains("%3a") {
        decoded = value.replace("%3A", ":").replace("%3a", ":");
        decoded.as_str()
    } else {
        value
    };
    let mut fields = value.trim().split(':');
    let (trace, span, _parent, flags) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Incoming {
        format: Format::Jaeger,
        trace_id: trace_id(trace, 1)?,
        parent_span_id: span_id(&format!("{span:0>16}"))?,
        sampled: Some(flags & 1 == 1),
    })
}

/// A trace id of at least `min_len` hex digits (at most 32), left-padded with zeros; never zero.
fn trace_id(text: &str, min_len: usize) -> Option<TraceId> {
    if text.len() < min_len || text.len() > 32 {
        return None;
    }
    let padded = format!("{text:0>32}");
    let mut id = [0u8; 16];
    hex_into(&padded, &mut id)?;
    (id != [0; 16]).then_some(id)
}

/// A span id of exactly 16 hex digits; never zero.
fn span_id(text: &str) -> Option<SpanId> {
    if text.len() != 16 {
        return None;
    }
    let mut id = [0u8; 8];
    hex_into(text, &mut id)?;
    (id != [0; 8]).then_some(id)
}

fn hex_into(text: &str, out: &mut [u8]) -> Option<()> {
    let bytes = text.as_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = std::str::from_utf8(bytes.get(2 * i..2 * i + 2)?).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(())
}

/// The headers that carry the gateway's span (`span_id`, child of `parent` when the client sent
/// one) to the upstream, in `format`.
pub fn inject(
    format: Format,
    trace_id: &TraceId,
    span_id: &SpanId,
    parent: Option<&SpanId>,
    sampled: bool,
) -> Vec<(HeaderName, HeaderValue)> {
    let value = |text: String| HeaderValue::from_str(&text).expect("BUG: hex is a header value");
    let ids = || (hex(trace_id), hex(span_id));
    match format {
        Format::W3c => vec![(TRACEPARENT, traceparent_header(trace_id, span_id, sampled))],
        Format::B3 => {
            let (trace, span) = ids();
            let mut headers = vec![
                (B3_TRACE_ID, value(trace)),
                (B3_SPAN_ID, value(span)),
                (
                    B3_SAMPLED,
                    HeaderValue::from_static(if sampled { "1" } else { "0" }),
                ),
            ];
            if let Some(parent) = parent {
                headers.push((B3_PARENT_SPAN_ID, value(hex(parent))));
            }
            headers
        }
        Format::B3Single => {
            let (trace, span) = ids();
            let sampled = if sampled { "1" } else { "0" };
            let parent = parent
                .map(|parent| format!("-{}", hex(parent)))
                .unwrap_or_default();
            vec![(B3, value(format!("{trace}-{span}-{sampled}{parent}")))]
        }
        Format::Jaeger => {
            let (trace, span) = ids();
            let parent = parent.map_or_else(|| "0".to_owned(), |parent| hex(parent));
            let flags = if sampled { "1" } else { "0" };
            vec![(
                UBER_TRACE_ID,
                value(format!("{trace}:{span}:{parent}:{flags}")),
            )]
        }
    }
}

/// Whether `headers` hold a header of any context format (one pass over the names, cheaper than a
/// look-up of each format's headers on a request that has none, the common case).
pub fn carries_context(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| is_context_header(name.as_str()))
}

/// Whether `name` is one of [`ALL_HEADERS`] (matched as text: by length, then bytes). The names
/// are written out because a search of [`ALL_HEADERS`] cost ~160 more instructions per traced
/// request; `a_header_of_any_format_counts_as_a_context` checks the two lists agree.
fn is_context_header(name: &str) -> bool {
    matches!(
        name,
        "traceparent"
            | "b3"
            | "x-b3-traceid"
            | "x-b3-spanid"
            | "x-b3-parentspanid"
            | "x-b3-sampled"
            | "x-b3-flags"
            | "uber-trace-id"
    )
}

/// The headers of every format, which a gateway that writes one format removes so the upstream
/// does not see two contexts that disagree.
pub static ALL_HEADERS: [HeaderName; 8] = [
    TRACEPARENT,
    B3,
    B3_TRACE_ID,
    B3_SPAN_ID,
    B3_PARENT_SPAN_ID,
    B3_SAMPLED,
    B3_FLAGS,
    UBER_TRACE_ID,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn a_header_of_any_format_counts_as_a_context() {
        assert!(!carries_context(&headers(&[
            ("host", "a"),
            ("accept", "*/*"),
            ("x-b3", "1"),
            ("traceparents", "x"),
        ])));
        for name in &ALL_HEADERS {
            let mut with = headers(&[("host", "a")]);
            with.insert(name.clone(), HeaderValue::from_static("x"));
            assert!(carries_context(&with), "{name}");
        }
    }

    #[test]
    fn w3c_b3_b3_single_and_jaeger_contexts_are_read() {
        let cases = [
            (
                headers(&[(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                )]),
                Format::W3c,
                Some(true),
            ),
            (
                headers(&[
                    ("x-b3-traceid", TRACE),
                    ("x-b3-spanid", SPAN),
                    ("x-b3-sampled", "0"),
                ]),
                Format::B3,
                Some(false),
            ),
            (
                headers(&[("b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")]),
                Format::B3Single,
                Some(true),
            ),
            (
                headers(&[(
                    "uber-trace-id",
                    "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
                )]),
                Format::Jaeger,
                Some(true),
            ),
        ];
        for (headers, format, sampled) in cases {
            let incoming = extract(&headers).unwrap_or_else(|| panic!("{headers:?}"));
            assert_eq!(incoming.format, format);
            assert_eq!(hex(&incoming.trace_id), TRACE);
            assert_eq!(hex(&incoming.parent_span_id), SPAN);
            assert_eq!(incoming.sampled, sampled);
        }
    }

    #[test]
    fn short_b3_trace_ids_are_padded_and_w3c_wins_over_b3() {
        let incoming = extract(&headers(&[
            ("x-b3-traceid", "a3ce929d0e0e4736"),
            ("x-b3-spanid", SPAN),
        ]))
        .unwrap();
        assert_eq!(hex(&incoming.trace_id), "0000000000000000a3ce929d0e0e4736");
        assert_eq!(incoming.sampled, None, "no decision: the gateway samples");
        let both = headers(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            ),
            ("b3", "a3ce929d0e0e4736-00f067aa0ba902b7"),
        ]);
        assert_eq!(extract(&both).unwrap().format, Format::W3c);
    }

    #[test]
    fn malformed_contexts_are_ignored() {
        for bad in [
            headers(&[(
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            )]),
            headers(&[(
                "traceparent",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )]),
            headers(&[(
                "traceparent",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            )]),
            headers(&[(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            )]),
            headers(&[("b3", "1")]),
            headers(&[("uber-trace-id", "nothex:00f067aa0ba902b7:0:1")]),
        ] {
            assert_eq!(extract(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn injected_headers_read_back_as_the_same_context() {
        let trace: TraceId = [0x4b; 16];
        let (span, parent): (SpanId, SpanId) = ([0x01; 8], [0x02; 8]);
        for format in [Format::W3c, Format::B3, Format::B3Single, Format::Jaeger] {
            let headers: HeaderMap = inject(format, &trace, &span, Some(&parent), true)
                .into_iter()
                .collect();
            let read = extract(&headers).unwrap();
            assert_eq!(
                (
                    read.format,
                    read.trace_id,
                    read.parent_span_id,
                    read.sampled
                ),
                (format, trace, span, Some(true))
            );
        }
        let headers: HeaderMap = inject(Format::W3c, &trace, &span, None, false)
            .into_iter()
            .collect();
        assert_eq!(
            headers["traceparent"],
            "00-4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b-0101010101010101-00"
        );
    }
}
