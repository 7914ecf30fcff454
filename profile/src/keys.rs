//! Configuration keys declared once. [`crate::profile`] lists every key in one table — its field, type,
//! default and doc, the flag that sets it with that flag's help, and the rule its value must keep — and
//! the [`profile_table!`] macro makes of it the profile's serde types, a [`Key`] constant per key (its
//! dotted name, its flag and its help: `keys::producers::rate`), and the check of every key's own rule.
//! Flags name their key through those constants, so renaming a key is one edit in the table, and the
//! compiler then points at every place that uses the old name.

use crate::error::ConfigError;

/// One configuration key: its dotted name in a profile, the flag that sets it, and that flag's help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The dotted name, e.g. `producers.rate`.
    pub name: &'static str,
    /// The flag that sets it, e.g. `--rate` (empty when no flag does).
    pub flag: &'static str,
    /// The flag's help, ending with the key it sets.
    pub help: &'static str,
}

impl Key {
    /// The flag's long name, for clap (`rate` for `--rate`).
    pub fn long(&self) -> &'static str {
        self.flag.trim_start_matches("--")
    }

    /// Help for a command that gives the flag a meaning of its own: `text`, then the key.
    pub fn help_as(&self, text: &str) -> String {
        format!("{text} [key: {}]", self.name)
    }

    /// The error of a value of this key that breaks a rule: `problem` says how.
    pub fn invalid(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.name,
            flag: self.flag,
            problem: problem.into(),
        }
    }
}

/// A rule one key's value must keep.
pub trait Rule<T: ?Sized> {
    /// What is wrong with `value`, if anything.
    fn problem(&self, value: &T) -> Option<String>;
}

/// Checks `value` of `key` against `rule`.
pub fn check<T: ?Sized>(key: Key, rule: &impl Rule<T>, value: &T) -> Result<(), ConfigError> {
    match rule.problem(value) {
        Some(problem) => Err(key.invalid(problem)),
        None => Ok(()),
    }
}

/// A whole number of at least this.
#[derive(Debug, Clone, Copy)]
pub struct AtLeast(pub u64);

impl<T: Copy + Into<u64>> Rule<T> for AtLeast {
    fn problem(&self, value: &T) -> Option<String> {
        let value: u64 = (*value).into();
        (value < self.0).then(|| format!("must be at least {}, got {value}", self.0))
    }
}

/// A whole number of at most `max`; `why` says what the limit is, e.g. "a second".
#[derive(Debug, Clone, Copy)]
pub struct AtMost {
    /// The largest value taken.
    pub max: u64,
    /// What the limit means.
    pub why: &'static str,
}

impl Rule<u64> for AtMost {
    fn problem(&self, value: &u64) -> Option<String> {
        (*value > self.max)
            .then(|| format!("must be at most {} ({}), got {value}", self.max, self.why))
    }
}

/// A finite number above 0.
#[derive(Debug, Clone, Copy)]
pub struct Positive;

impl Rule<f64> for Positive {
    fn problem(&self, value: &f64) -> Option<String> {
        (!(value.is_finite() && *value > 0.0))
            .then(|| format!("must be a positive number, got {value}"))
    }
}

/// A finite number of at least this.
#[derive(Debug, Clone, Copy)]
pub struct NumberAtLeast(pub f64);

impl Rule<f64> for NumberAtLeast {
    fn problem(&self, value: &f64) -> Option<String> {
        (!(value.is_finite() && *value >= self.0))
            .then(|| format!("must be a number of at least {}, got {value}", self.0))
    }
}

/// A legal Kafka topic name.
#[derive(Debug, Clone, Copy)]
pub struct TopicName;

impl Rule<String> for TopicName {
    fn problem(&self, topic: &String) -> Option<String> {
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let bad = topic.is_empty()
            || topic.len() > 200
            || !topic.chars().all(legal)
            || topic == "."
            || topic == "..";
        bad.then(|| {
            format!("must be a Kafka topic name (letters, digits, '.', '_', '-'), got {topic:?}")
        })
    }
}

/// `HOST:PORT[,HOST:PORT…]`.
#[derive(Debug, Clone, Copy)]
pub struct HostPorts;

impl Rule<String> for HostPorts {
    fn problem(&self, text: &String) -> Option<String> {
        text.split(',').find_map(|address| {
            crate::address::HostPort::parse(address)
                .err()
                .map(|problem| format!("{problem}, got {address:?}"))
        })
    }
}

/// Declares the profile: its sections and every key of each, once. For each key: its doc and serde
/// attributes, `name: Type = default`, then optionally `flag "--name"` with `help "…"`, and `rule R`.
/// Makes the profile type, one type per section with its defaults, the module `keys` of [`Key`]
/// constants, and `Profile::check_each_key`.
macro_rules! profile_table {
    (
        $(#[$pmeta:meta])*
        pub struct $Profile:ident {
            $(
                $(#[$smeta:meta])*
                $section:ident: $Section:ident {
                    $(
                        $(#[$fmeta:meta])*
                        $field:ident: $ty:ty = $default:expr
                        $(, flag $flag:literal help $help:literal)?
                        $(, rule $rule:expr)?
                        ;
                    )*
                }
            )*
        }
    ) => {
        $(#[$pmeta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $Profile {
            $(
                $(#[$smeta])*
                pub $section: $Section,
            )*
        }

        $(
            $(#[$smeta])*
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(default, deny_unknown_fields)]
            pub struct $Section {
                $(
                    $(#[$fmeta])*
                    pub $field: $ty,
                )*
            }

            impl Default for $Section {
                fn default() -> Self {
                    Self {
                        $($field: $default,)*
                    }
                }
            }
        )*

        /// Every key of a profile, by section: `keys::producers::rate` is `producers.rate`, with its
        /// flag and help.
        pub mod keys {
            $(
                #[doc = concat!("The keys of `[", stringify!($section), "]`.")]
                #[allow(non_upper_case_globals)]
                pub mod $section {
                    use $crate::keys::Key;
                    $(
                        #[doc = concat!("`", stringify!($section), ".", stringify!($field), "`")]
                        pub const $field: Key = Key {
                            name: concat!(stringify!($section), ".", stringify!($field)),
                            flag: concat!("" $(, $flag)?),
                            help: concat!(
                                $($help, " ",)?
                                "[key: ", stringify!($section), ".", stringify!($field), "]"
                            ),
                        };
                    )*
                }
            )*
        }

        impl $Profile {
            /// Checks the rule of every key that has one, in the table's order.
            pub(crate) fn check_each_key(&self) -> Result<(), $crate::error::ConfigError> {
                $($($(
                    $crate::keys::check(keys::$section::$field, &$rule, &self.$section.$field)?;
                )?)*)*
                Ok(())
            }
        }
    };
}

pub(crate) use profile_table;
