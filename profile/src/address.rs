//! `HOST:PORT` addresses — of brokers, of timely processes — parsed by one rule, and whether a host is
//! this machine's loopback.

use std::fmt;
use std::net::IpAddr;

/// A `HOST:PORT` address: a non-empty host and a port in 1..=65535.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host part (a name, an IPv4 address, or an IPv6 address in brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

/// Why a text is not `HOST:PORT`; the text says it for an error message ending in `, got "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// There is no `:`.
    #[error("must be HOST:PORT")]
    NoPort,
    /// The host is empty or the port is not a number in 1..=65535.
    #[error("must be HOST:PORT with a port in 1..=65535")]
    Invalid,
}

impl HostPort {
    /// The address in `text`.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let (host, port) = text.rsplit_once(':').ok_or(AddressError::NoPort)?;
        match port.parse::<u16>() {
            Ok(port) if port > 0 && !host.is_empty() => Ok(Self {
                host: host.to_owned(),
                port,
            }),
            _ => Err(AddressError::Invalid),
        }
    }

    /// Whether the host is this machine's loopback.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Whether `host` names this machine's loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_are_required() {
        assert_eq!(
            HostPort::parse("127.0.0.1:9092"),
            Ok(HostPort {
                host: "127.0.0.1".to_owned(),
                port: 9092
            })
        );
        assert_eq!(HostPort::parse("[::1]:7000").unwrap().host, "[::1]");
        assert_eq!(HostPort::parse("localhost"), Err(AddressError::NoPort));
        for bad in [":9092", "h:0", "h:70000", "h:x"] {
            assert_eq!(HostPort::parse(bad), Err(AddressError::Invalid), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.1.2.3", "worker-b", "192.168.0.1"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
