//! Who the client is, behind reverse proxies: the rule of `BODYWORK_TRUSTED_PROXIES`.
//!
//! A proxy appends the address it received a request from to `X-Forwarded-For` (or adds a
//! `Forwarded: for=` element); everything left of what our own proxies wrote was written by the
//! client and proves nothing. So the client is the right-most address that is not one of our
//! proxies, read only when the peer itself is one of them. Rate limits key IPv6 clients by their
//! /64, the block one subscriber usually holds, so changing the low bits gains nothing.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `BODYWORK_TRUSTED_PROXIES`: CIDR blocks or single addresses, separated by commas or
/// spaces (`10.0.0.0/8, 127.0.0.1, ::1`).
pub fn parse_trusted(list: &str) -> Result<Vec<IpNet>, String> {
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("{s:?} is neither an address nor a CIDR block (like 10.0.0.0/8)")
                })
        })
        .collect()
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// The addresses a forwarding header lists, left to right: `X-Forwarded-For: a, b` or
/// `Forwarded: for=a;proto=https, for="[2001:db8::1]:4711"`. Entries that are not addresses
/// (`unknown`, obfuscated names) are kept as `None`: they stop the walk like any address we
/// cannot trust.
pub fn forwarded_chain(x_forwarded_for: &[&str], forwarded: &[&str]) -> Vec<Option<IpAddr>> {
    let mut chain: Vec<Option<IpAddr>> = Vec::new();
    for h in forwarded {
        for element in h.split(',') {
            for pair in element.split(';') {
                let Some((k, v)) = pair.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("for") {
                    chain.push(node_address(v.trim().trim_matches('"')));
                }
            }
        }
    }
    for h in x_forwarded_for {
        chain.extend(h.split(',').map(|s| node_address(s.trim())));
    }
    chain
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`, `2001:db8::1`.
fn node_address(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':')?
        .0
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(IpAddr::V4)
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the right-most
/// address of the chain that is not a trusted proxy (an unreadable entry stops the walk at the
/// proxy that wrote it: the peer counts then). When every entry is a trusted proxy, the
/// left-most one.
pub fn client_address(peer: IpAddr, chain: &[Option<IpAddr>], proxies: &[IpNet]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut last_trusted = peer;
    for entry in chain.iter().rev() {
        match entry {
            Some(ip) if trusted(*ip, proxies) => last_trusted = *ip,
            Some(ip) => return *ip,
            None => return last_trusted,
        }
    }
    last_trusted
}

/// The key a rate limit counts a client by: the address itself for IPv4, its /64 for IPv6
/// (an IPv4-mapped IPv6 address counts as its IPv4 address).
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = parse_trusted("10.0.0.0/8").unwrap();
        let chain = forwarded_chain(&["1.2.3.4"], &[]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &chain, &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("203.0.113.9"), &chain, &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_address_counts_not_the_left_most() {
        let proxies = parse_trusted("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client wrote "6.6.6.6" itself; our proxy appended the address it saw.
        let chain = forwarded_chain(&["6.6.6.6, 198.51.100.7"], &[]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &chain, &proxies),
            ip("198.51.100.7")
        );
        let forged = forwarded_chain(&["7.7.7.7, 198.51.100.7"], &[]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &forged, &proxies),
            ip("198.51.100.7")
        );
        // Two proxies of ours: the second appended the first.
        let chain = forwarded_chain(&["198.51.100.7, 10.1.2.3"], &[]);
        assert_eq!(
            client_address(ip("10.9.9.9"), &chain, &proxies),
            ip("198.51.100.7")
        );
        // Only our proxies in the chain: the left-most.
        let chain = forwarded_chain(&["10.1.1.1, 10.2.2.2"], &[]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &chain, &proxies),
            ip("10.1.1.1")
        );
        // No header: the peer.
        assert_eq!(
            client_address(ip("127.0.0.1"), &[], &proxies),
            ip("127.0.0.1")
        );
        // An unreadable entry stops the walk at the proxy that wrote it.
        let chain = forwarded_chain(&["198.51.100.7, unknown"], &[]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &chain, &proxies),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_too_with_ports_and_brackets() {
        let chain = forwarded_chain(
            &[],
            &["for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\""],
        );
        assert_eq!(
            chain,
            vec![Some(ip("192.0.2.60")), Some(ip("2001:db8:cafe::17"))]
        );
        let proxies = parse_trusted("::1").unwrap();
        assert_eq!(
            client_address(ip("::1"), &chain, &proxies),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            forwarded_chain(&["192.0.2.1:8080"], &[]),
            vec![Some(ip("192.0.2.1"))]
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            rate_key(ip("2001:db8:1:2:ffff:1:2:3")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(rate_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(rate_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
    }

    #[test]
    fn a_bad_list_says_which_entry() {
        let e = parse_trusted("10.0.0.0/8, nonsense").unwrap_err();
        assert!(e.contains("nonsense"), "{e}");
        assert_eq!(parse_trusted("").unwrap(), vec![]);
    }
}
