//! Answers in both formats of the specification. JSON is the natural form of the data; XML
//! is derived from it as the specification's examples show: a list is a wrapper element with
//! one child per item (`<services><service>…`, `<attributes><attribute>…`), an empty or null
//! value an empty element, every text escaped, UTF-8 declared.

use serde_json::Value;

/// The format a path asks for with its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits `name.json` / `name.xml` into the name and its format.
    pub fn split(path: &str) -> Option<(&str, Format)> {
        if let Some(name) = path.strip_suffix(".json") {
            Some((name, Format::Json))
        } else {
            path.strip_suffix(".xml").map(|name| (name, Format::Xml))
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

fn singular(plural: &str) -> &str {
    match plural {
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "service_requests" => "request",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn element(name: &str, value: &Value, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape(s, out),
        Value::Array(items) => {
            let item = singular(name);
            for v in items {
                element(item, v, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                element(k, v, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `value` (an object, or a list whose items are `<item>`s) under the root element `root`.
pub fn render(format: Format, root: &str, value: &Value) -> String {
    match format {
        Format::Json => value.to_string(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            element(root, value, &mut out);
            out
        }
    }
}

/// The specification's error answer: `[{"code", "description"}]` / `<errors><error>`.
pub fn errors(format: Format, code: u16, description: &str) -> String {
    let list = serde_json::json!([{ "code": code, "description": description }]);
    render(format, "errors", &list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_wrapped_elements_and_text_is_escaped() {
        let v = json!([{"service_code": "a<b", "metadata": false, "group": null,
                        "attributes": [{"code": "plate", "values": [{"key": "k", "name": "名"}]}]}]);
        assert_eq!(
            render(Format::Xml, "services", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><attributes><attribute><code>plate</code><values><value><key>k</key><name>名</name></value></values></attribute></attributes><group></group><metadata>false</metadata><service_code>a&lt;b</service_code></service></services>"
        );
        assert_eq!(
            errors(Format::Xml, 404, "no & such"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>404</code><description>no &amp; such</description></error></errors>"
        );
        assert_eq!(
            errors(Format::Json, 403, "x"),
            r#"[{"code":403,"description":"x"}]"#
        );
        assert_eq!(
            Format::split("requests.xml"),
            Some(("requests", Format::Xml))
        );
        assert_eq!(Format::split("requests.csv"), None);
    }
}
