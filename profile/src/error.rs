//! Configuration errors as typed data, each rendered as one line that names the key — and, for a
//! value out of range, the flag that sets it too — so the person running the command knows what to fix.

use std::path::PathBuf;

/// A configuration problem, rendered as one line that names the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The profile file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The profile is not valid TOML.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// Where the text came from.
        origin: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A key is unknown or its value has the wrong type.
    #[error("{origin}: key `{key}`: {message}")]
    Key {
        /// Where the text came from.
        origin: String,
        /// The dotted key, e.g. `producers.rate`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Flags that contradict each other or name no run (e.g. an empty sweep axis).
    #[error("{0}")]
    Flags(String),
    /// A value is of the right type but not allowed.
    #[error("invalid configuration: `{key}` ({flag}) {problem}")]
    Invalid {
        /// The dotted key.
        key: &'static str,
        /// The flag that sets the same option.
        flag: &'static str,
        /// What is wrong, e.g. "must be at least 1, got 0".
        problem: String,
    },
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn syntax_error(text: &str, origin: &str, error: &toml::de::Error) -> ConfigError {
    let (line, column) = error
        .span()
        .map_or((1, 1), |span| line_column(text, span.start));
    ConfigError::Syntax {
        origin: origin.to_owned(),
        line,
        column,
        message: one_line(error.message()),
    }
}

pub(crate) fn key_error(
    text: &str,
    origin: &str,
    error: serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let path = error.path().to_string();
    let inner = error.inner();
    let message = one_line(inner.message());
    // An unknown key is reported by serde at its parent table; name the key itself.
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, expected)) = rest.split_once('`')
    {
        // The path already ends at the unknown key itself.
        let key = if path == "." { name.to_owned() } else { path };
        return ConfigError::Key {
            origin: origin.to_owned(),
            key,
            message: format!("unknown key{}", expected.replace("field", "key")),
        };
    }
    if path == "." {
        let (line, column) = inner
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        return ConfigError::Syntax {
            origin: origin.to_owned(),
            line,
            column,
            message,
        };
    }
    ConfigError::Key {
        origin: origin.to_owned(),
        key: path,
        message,
    }
}
