//! What an insert error means for the rows that failed: [`ErrorClass`] and [`classify`].
//!
//! The sink's decision depends on it: retrying bad rows forever stalls a partition, and
//! dead-lettering good rows because the server was busy loses them from ClickHouse. The rule
//! of thumb: an error is [`BadData`](ErrorClass::BadData) only when sending *other* rows
//! would succeed; when nothing can be inserted until someone fixes the deployment it is
//! [`Misconfigured`](ErrorClass::Misconfigured); anything else, including what we do not
//! recognise, is [`Transient`](ErrorClass::Transient), because retrying never loses data
//! while a wrong dead-letter does.

use std::fmt;

/// What to do with a batch whose insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Some rows themselves are bad (ClickHouse could not parse or accept their values):
    /// the same rows will fail again. Split the batch to find them, dead-letter those, and
    /// insert the rest.
    BadData,
    /// The server or the network is struggling (connection refused or reset, timeouts, too
    /// many parts, memory limit, too many queries): retry the same batch after a backoff.
    Transient,
    /// The table, a column, the database, the credentials or the URL is wrong: no row can be
    /// written until an operator fixes the deployment (apply the ClickHouse migrations,
    /// check `[clickhouse]` in the configuration). Keep the batch, alert,
    /// and retry with a long backoff; never dead-letter good rows for it.
    Misconfigured,
}

impl ErrorClass {
    /// The label used in metrics and logs: `bad_data`, `transient`, `misconfigured`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::BadData => "bad_data",
            ErrorClass::Transient => "transient",
            ErrorClass::Misconfigured => "misconfigured",
        }
    }

    /// Whether retrying the very same batch can succeed (after a backoff, or after an
    /// operator's fix).
    pub fn is_retryable(self) -> bool {
        !matches!(self, ErrorClass::BadData)
    }

    /// What the caller should do, in one sentence (used in error messages).
    pub fn advice(self) -> &'static str {
        match self {
            ErrorClass::BadData => {
                "the rows themselves are rejected: split the batch to find the bad rows, \
                 dead-letter them and insert the rest"
            }
            ErrorClass::Transient => {
                "ClickHouse or the network is struggling: retry the same batch after a backoff"
            }
            ErrorClass::Misconfigured => {
                "no row can be written until the deployment is fixed: apply the ClickHouse \
                 migrations and check the [clickhouse] configuration; keep the batch and \
                 retry later"
            }
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hint for errors that mean "this server is too old for the client's settings", else
/// `""`. ClickHouse 18.16 answers `Unknown format RowBinaryWithNamesAndTypes` (code 73) or
/// `Unknown setting describe_include_subcolumns` (code 115) when validation is on.
pub fn old_server_hint(error: &clickhouse::error::Error) -> &'static str {
    match error {
        clickhouse::error::Error::BadResponse(message)
            if message.contains("RowBinaryWithNamesAndTypes")
                || message.contains("describe_include_subcolumns") =>
        {
            " (this ClickHouse is too old for row validation: set clickhouse.validation = false)"
        }
        _ => "",
    }
}

/// Classifies an error of the `clickhouse` crate raised by an insert.
pub fn classify(error: &clickhouse::error::Error) -> ErrorClass {
    use clickhouse::error::Error as E;
    match error {
        E::BadResponse(message) => classify_response(message),
        E::Network(_) | E::TimedOut | E::Other(_) => ErrorClass::Transient,
        // Serializing one of our rows failed: that row can never be sent.
        E::Custom(_)
        | E::SequenceMustHaveLength
        | E::InvalidUtf8Encoding(_)
        | E::InvalidTagEncoding(_)
        | E::VariantDiscriminatorIsOutOfBound(_) => ErrorClass::BadData,
        // The row type does not match the table (validation on) or the URL is unusable.
        E::SchemaMismatch(_) | E::InvalidColumnsHeader(_) | E::InvalidParams(_) => {
            ErrorClass::Misconfigured
        }
        E::Unsupported(_) => ErrorClass::Misconfigured,
        // Compression trouble, malformed responses, anything new: retrying is safe.
        _ => ErrorClass::Transient,
    }
}

/// Classifies the text of a failed HTTP response: `Code: N, e.displayText() = ...` (18.16),
/// `Code: N. DB::Exception: ...` (current releases), a bare `Code: N` (exception header
/// only), or an HTTP status line such as `503 Service Unavailable`.
pub fn classify_response(message: &str) -> ErrorClass {
    if let Some(code) = exception_code(message) {
        return classify_exception(code, message);
    }
    let status = message
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(401 | 403 | 404) => ErrorClass::Misconfigured,
        Some(413) => ErrorClass::BadData,
        _ => ErrorClass::Transient,
    }
}

/// The ClickHouse exception code in a response text (the first `Code: N`), if any.
pub fn exception_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code:")? + "Code:".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Classifies a ClickHouse exception by its code (and, for the one ambiguous code, by its
/// message). The codes are those of ClickHouse's `ErrorCodes.cpp`, stable since 18.x.
pub fn classify_exception(code: u32, message: &str) -> ErrorClass {
    match code {
        // TOO_MANY_PARTS also reports "Too many partitions for single INSERT block": the rows'
        // times span too many months, which no retry of the same batch fixes.
        252 if message.contains("partitions for single INSERT block") => ErrorClass::BadData,

        // The values cannot be parsed, converted or accepted.
        6     // CANNOT_PARSE_TEXT
        | 25  // CANNOT_PARSE_ESCAPE_SEQUENCE
        | 26  // CANNOT_PARSE_QUOTED_STRING
        | 27  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
        | 32  // ATTEMPT_TO_READ_AFTER_EOF
        | 33  // CANNOT_READ_ALL_DATA
        | 36  // BAD_ARGUMENTS
        | 38  // CANNOT_PARSE_DATE
        | 41  // CANNOT_PARSE_DATETIME
        | 69  // ARGUMENT_OUT_OF_BOUND
        | 70  // CANNOT_CONVERT_TYPE
        | 72  // CANNOT_PARSE_NUMBER
        | 117 // INCORRECT_DATA
        | 128 // TOO_LARGE_ARRAY_SIZE
        | 130 // CANNOT_READ_ARRAY_FROM_TEXT
        | 131 // TOO_LARGE_STRING_SIZE
        | 190 // SIZES_OF_ARRAYS_DOESNT_MATCH
        | 321 // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        | 349 // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
        | 376 // CANNOT_PARSE_UUID
        | 395 // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
        | 407 // DECIMAL_OVERFLOW
        | 441 // CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING
        | 469 // VIOLATED_CONSTRAINT
        | 691 // UNKNOWN_ELEMENT_OF_ENUM
        => ErrorClass::BadData,

        // The statement or the deployment is wrong: every batch would fail the same way.
        8     // THERE_IS_NO_COLUMN
        | 10  // NOT_FOUND_COLUMN_IN_BLOCK
        | 16  // NO_SUCH_COLUMN_IN_TABLE
        | 20  // NUMBER_OF_COLUMNS_DOESNT_MATCH
        | 47  // UNKNOWN_IDENTIFIER
        | 50  // UNKNOWN_TYPE
        | 53  // TYPE_MISMATCH (the row type's columns differ from the table's)
        | 60  // UNKNOWN_TABLE
        | 62  // SYNTAX_ERROR
        | 73  // UNKNOWN_FORMAT
        | 81  // UNKNOWN_DATABASE
        | 115 // UNKNOWN_SETTING
        | 164 // READONLY
        | 192 // UNKNOWN_USER
        | 193 // WRONG_PASSWORD
        | 194 // REQUIRED_PASSWORD
        | 195 // IP_ADDRESS_NOT_ALLOWED
        | 242 // TABLE_IS_READ_ONLY
        | 291 // DATABASE_ACCESS_DENIED
        | 497 // ACCESS_DENIED
        | 516 // AUTHENTICATION_FAILED
        => ErrorClass::Misconfigured,

        // Everything else, notably 159 TIMEOUT_EXCEEDED, 202 TOO_MANY_SIMULTANEOUS_QUERIES,
        // 209 SOCKET_TIMEOUT, 210 NETWORK_ERROR, 241 MEMORY_LIMIT_EXCEEDED, 243
        // NOT_ENOUGH_SPACE, 252 TOO_MANY_PARTS, 319 UNKNOWN_STATUS_OF_INSERT, 394
        // QUERY_WAS_CANCELLED, 425 SYSTEM_ERROR, and codes we do not know.
        _ => ErrorClass::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_of_both_server_generations() {
        let old = "Code: 60, e.displayText() = DB::Exception: Table t.nope doesn't exist., \
                   e.what() = DB::Exception";
        let new = "Code: 60. DB::Exception: Table t.nope does not exist. (UNKNOWN_TABLE) \
                   (version 25.8.1.1 (official build))";
        assert_eq!(exception_code(old), Some(60));
        assert_eq!(exception_code(new), Some(60));
        assert_eq!(exception_code("Code: 241"), Some(241));
        assert_eq!(exception_code("503 Service Unavailable"), None);
        assert_eq!(exception_code("Code: x"), None);
    }

    #[test]
    fn bad_rows_are_bad_data() {
        for code in [
            6, 26, 27, 33, 38, 41, 69, 70, 72, 117, 130, 131, 190, 395, 469, 691,
        ] {
            assert_eq!(
                classify_exception(code, ""),
                ErrorClass::BadData,
                "code {code}"
            );
        }
        let m = "Code: 6, e.displayText() = DB::Exception: Cannot parse string 'x' as UInt64";
        assert_eq!(classify_response(m), ErrorClass::BadData);
    }

    #[test]
    fn a_struggling_server_is_transient() {
        for code in [159, 202, 209, 210, 241, 243, 252, 319, 394, 425, 999_999] {
            assert_eq!(
                classify_exception(code, "Too many parts (300). Merges are processing"),
                ErrorClass::Transient,
                "code {code}"
            );
        }
        assert_eq!(
            classify_response("503 Service Unavailable"),
            ErrorClass::Transient
        );
        assert_eq!(classify_response(""), ErrorClass::Transient);
    }

    #[test]
    fn too_many_partitions_in_one_block_is_bad_data() {
        let m = "Code: 252. DB::Exception: Too many partitions for single INSERT block \
                 (more than 100). (TOO_MANY_PARTS)";
        assert_eq!(classify_response(m), ErrorClass::BadData);
    }

    #[test]
    fn a_wrong_deployment_is_misconfigured() {
        for code in [16, 47, 53, 60, 62, 81, 164, 192, 193, 497, 516] {
            assert_eq!(
                classify_exception(code, ""),
                ErrorClass::Misconfigured,
                "code {code}"
            );
        }
        assert_eq!(
            classify_response("403 Forbidden"),
            ErrorClass::Misconfigured
        );
        assert_eq!(
            classify_response("413 Payload Too Large"),
            ErrorClass::BadData
        );
    }

    #[test]
    fn client_side_errors() {
        use clickhouse::error::Error as E;
        assert_eq!(classify(&E::TimedOut), ErrorClass::Transient);
        assert_eq!(
            classify(&E::Network("connection refused".into())),
            ErrorClass::Transient
        );
        assert_eq!(
            classify(&E::Custom("map keys must be strings".into())),
            ErrorClass::BadData
        );
        assert_eq!(
            classify(&E::SchemaMismatch("column x: UInt8 vs String".into())),
            ErrorClass::Misconfigured
        );
        assert_eq!(
            classify(&E::BadResponse(
                "Code: 241. DB::Exception: Memory limit".into()
            )),
            ErrorClass::Transient
        );
    }

    #[test]
    fn old_servers_get_a_hint() {
        use clickhouse::error::Error as E;
        let e = E::BadResponse(
            "Code: 73, e.displayText() = DB::Exception: Unknown format \
             RowBinaryWithNamesAndTypes, e.what() = DB::Exception"
                .into(),
        );
        assert!(old_server_hint(&e).contains("validation = false"));
        assert_eq!(classify(&e), ErrorClass::Misconfigured);
        assert_eq!(old_server_hint(&E::TimedOut), "");
    }

    #[test]
    fn only_bad_data_is_not_retryable() {
        assert!(!ErrorClass::BadData.is_retryable());
        assert!(ErrorClass::Transient.is_retryable());
        assert!(ErrorClass::Misconfigured.is_retryable());
        assert_eq!(ErrorClass::BadData.to_string(), "bad_data");
    }
}
