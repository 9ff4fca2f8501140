//! The examples of a guide under `docs/`, so a test can run each one as documented: fenced
//! ```` ```http expect=N ```` requests (the ```` ```json ```` block right after one is its
//! documented answer) and ```` ```json topic=T key=K ```` Kafka records.

use serde_json::Value;

#[derive(Debug)]
pub enum Example {
    Http {
        expect: u16,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
        answer: Option<String>,
    },
    Kafka {
        topic: String,
        key: String,
        payload: String,
    },
}

/// The fenced blocks of `doc`, in order.
pub fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let words: Vec<&str> = info.split_whitespace().collect();
        let attr = |name: &str| {
            words
                .iter()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        match words.first().copied() {
            Some("http") => {
                let expect = attr("expect")
                    .and_then(|e| e.parse().ok())
                    .expect("http examples name their expected status");
                let (method, path) = block[0].split_once(' ').expect("METHOD PATH");
                let blank = block
                    .iter()
                    .position(|l| l.is_empty())
                    .unwrap_or(block.len());
                let headers = block[1..blank]
                    .iter()
                    .map(|h| {
                        let (k, v) = h.split_once(": ").expect("Header: value");
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                out.push(Example::Http {
                    expect,
                    method: method.to_owned(),
                    path: path.to_owned(),
                    headers,
                    body: block.get(blank + 1..).unwrap_or_default().join("\n"),
                    answer: None,
                });
            }
            Some("json") if attr("topic").is_some() => out.push(Example::Kafka {
                topic: attr("topic").unwrap_or_default(),
                key: attr("key").expect("Kafka examples name their key"),
                payload: block.join("\n"),
            }),
            Some("json") => {
                if let Some(Example::Http {
                    answer: slot @ None,
                    ..
                }) = out.last_mut()
                {
                    *slot = Some(block.join("\n"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether `actual` matches the documented `expected`, where "…" stands for any value.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == "…" => true,
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        _ => expected == actual,
    }
}
