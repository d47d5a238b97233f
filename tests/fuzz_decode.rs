//! Property test over the response-decoding path: any status, headers and body bytes
//! give a report or a typed error, never a panic, and the error describes that response.
//! Bounded so it runs in CI (`PROPTEST_CASES` raises it for a longer local run).

use cloudflare_mcp_sync::{Error, HeaderMap, decode_sync_response};
use proptest::prelude::*;
use reqwest::header::{HeaderName, HeaderValue};

const HEADER_NAMES: [&str; 11] = [
    "content-type",
    "cf-ray",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "ratelimit",
    "ratelimit-policy",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "location",
    "content-length",
];

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"application/json".to_vec()),
        Just(b"text/html; charset=utf-8".to_vec()),
        Just(b"300".to_vec()),
        Just(b"1e300".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"Sun, 06 Nov 1994 08:49:37 GMT".to_vec()),
        Just(b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec()),
        Just(b"true".to_vec()),
        Just(b"\"default\";r=50;t=30".to_vec()),
        Just(b"\"x\";r=99999999999999999999999;t=-5".to_vec()),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z]{0,8}".prop_map(serde_json::Value::from),
        prop_oneof![Just("ready"), Just("error"), Just("syncing"), Just("")]
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("success".to_string()),
            Just("result".to_string()),
            Just("errors".to_string()),
            Just("messages".to_string()),
            Just("status".to_string()),
            Just("error".to_string()),
            Just("error_details".to_string()),
            Just("mcp_code".to_string()),
            Just("status_code".to_string()),
            Just("code".to_string()),
            Just("message".to_string()),
            Just("error_chain".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // A valid body cut anywhere, or with a byte flipped.
        (0usize..120, any::<u8>(), any::<bool>()).prop_map(|(at, byte, cut)| {
            let mut b = br#"{"success":true,"errors":[],"messages":[],"result":{"status":"error","error":"e","error_details":{"mcp_code":-32603.0,"status_code":502,"is_upstream":true}}}"#.to_vec();
            let at = at.min(b.len() - 1);
            if cut { b.truncate(at) } else { b[at] = byte }
            b
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn decoding_never_panics_and_describes_the_response(
        status in prop_oneof![100u16..600, any::<u16>()],
        headers in proptest::collection::vec((0usize..HEADER_NAMES.len(), header_value()), 0..6),
        body in body(),
        attempts in 1u32..5,
    ) {
        let mut map = HeaderMap::new();
        for (i, value) in headers {
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                map.append(HeaderName::from_static(HEADER_NAMES[i]), v);
            }
        }
        match decode_sync_response(status, map, &body, attempts) {
            Ok(report) => {
                prop_assert!((200..300).contains(&status));
                prop_assert_eq!(report.meta.status, status);
                prop_assert_eq!(report.meta.attempts, attempts);
                let _ = format!("{report:?}");
                prop_assert!(serde_json::to_string(&report).is_ok());
            }
            Err(e) => {
                prop_assert_eq!(e.status(), Some(status));
                prop_assert_eq!(e.attempts(), attempts);
                let line = e.to_string();
                prop_assert!(!line.contains('\n'), "{}", line);
                let _ = format!("{e:?}");
                if !(200..300).contains(&status) {
                    prop_assert!(!matches!(e, Error::Unsuccessful(_) | Error::MissingResult(_)));
                }
            }
        }
    }
}
