//! `HOST:PORT` addresses — of brokers, of timely processes, of metrics endpoints — parsed by one rule,
//! and whether a host is this machine's loopback.

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

/// Where the processes of one kind serve their metrics: `HOST:PORT` (process `i` at `PORT + i`) or
/// `HOST:FIRST-LAST` (process `i` at `FIRST + i`, which must not pass `LAST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenPorts {
    /// The host to bind (`0.0.0.0` for every interface).
    pub host: String,
    /// The port of the first process.
    pub first: u16,
    /// The last port that may be used, when a range is given.
    pub last: Option<u16>,
}

impl ListenPorts {
    /// The ports in `text`.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let (host, ports) = text.rsplit_once(':').ok_or(AddressError::NoPort)?;
        let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p > 0);
        let (first, last) = match ports.split_once('-') {
            Some((a, b)) => (port(a), port(b).map(Some)),
            None => (port(ports), Some(None)),
        };
        match (first, last) {
            (Some(first), Some(last))
                if !host.is_empty() && last.is_none_or(|last| last >= first) =>
            {
                Ok(Self {
                    host: host.to_owned(),
                    first,
                    last,
                })
            }
            _ => Err(AddressError::Invalid),
        }
    }

    /// The address of process `index`, unless it falls outside the range (or past port 65535).
    pub fn nth(&self, index: u32) -> Option<HostPort> {
        let port = u16::try_from(u32::from(self.first) + index).ok()?;
        if self.last.is_some_and(|last| port > last) {
            return None;
        }
        Some(HostPort {
            host: self.host.clone(),
            port,
        })
    }
}

impl fmt::Display for ListenPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.first)?;
        if let Some(last) = self.last {
            write!(f, "-{last}")?;
        }
        Ok(())
    }
}

/// `host` without the brackets of an IPv6 address.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Whether `host` names this machine's loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let bare = bare(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is the address that binds every interface (`0.0.0.0`, `::`), and so names no host
/// to connect to.
pub fn is_unspecified(host: &str) -> bool {
    bare(host)
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
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
    fn listen_ports_are_a_first_port_or_a_range() {
        let one = ListenPorts::parse("0.0.0.0:9400").unwrap();
        assert_eq!(one.nth(0).unwrap().to_string(), "0.0.0.0:9400");
        assert_eq!(one.nth(3).unwrap().to_string(), "0.0.0.0:9403");
        let range = ListenPorts::parse("127.0.0.1:9400-9401").unwrap();
        assert_eq!(range.nth(1).unwrap().port, 9401);
        assert_eq!(range.nth(2), None);
        assert_eq!(range.to_string(), "127.0.0.1:9400-9401");
        assert_eq!(ListenPorts::parse("h:65535").unwrap().nth(1), None);
        assert_eq!(ListenPorts::parse("h"), Err(AddressError::NoPort));
        for bad in [":9400", "h:0", "h:9401-9400", "h:9400-", "h:x-9401"] {
            assert_eq!(ListenPorts::parse(bad), Err(AddressError::Invalid), "{bad}");
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
        for host in ["0.0.0.0", "[::]", "::"] {
            assert!(is_unspecified(host) && !is_loopback(host), "{host}");
        }
        assert!(!is_unspecified("127.0.0.1"));
    }
}
