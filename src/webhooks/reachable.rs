//! Which addresses are public, after the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries: every block whose "Globally Reachable" is false is refused, a more specific
//! entry that is globally reachable is let through, and IPv6 outside the global unicast
//! space (2000::/3) is refused whatever it is. Addresses that carry an IPv4 address to a
//! translator (IPv4-mapped, NAT64, 6to4) are judged by that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A block of addresses and why it is refused; `None` marks a globally reachable block
/// inside a refused one.
type Block<T> = (T, u8, Option<&'static str>);

const DOCUMENTATION: Option<&str> = Some("a documentation address");
const PRIVATE: Option<&str> = Some("a private address");

/// The IPv4 registry, plus multicast (a registry of its own) and the broadcast address.
const V4_BLOCKS: &[Block<Ipv4Addr>] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, Some("an unspecified address")),
    (Ipv4Addr::new(10, 0, 0, 0), 8, PRIVATE),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        Some("a shared (carrier-grade NAT) address"),
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, Some("a loopback address")),
    (
        Ipv4Addr::new(169, 254, 0, 0),
        16,
        Some("a link-local address"),
    ),
    (Ipv4Addr::new(172, 16, 0, 0), 12, PRIVATE),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        Some("a reserved (IETF protocol assignment) address"),
    ),
    // Port Control Protocol and TURN anycast.
    (Ipv4Addr::new(192, 0, 0, 9), 32, None),
    (Ipv4Addr::new(192, 0, 0, 10), 32, None),
    (Ipv4Addr::new(192, 0, 2, 0), 24, DOCUMENTATION),
    // Deprecated by RFC 7526; the registry no longer calls it reachable.
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        Some("a deprecated 6to4 relay address"),
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, PRIVATE),
    (
        Ipv4Addr::new(198, 18, 0, 0),
        15,
        Some("a benchmarking address"),
    ),
    (Ipv4Addr::new(198, 51, 100, 0), 24, DOCUMENTATION),
    (Ipv4Addr::new(203, 0, 113, 0), 24, DOCUMENTATION),
    (Ipv4Addr::new(224, 0, 0, 0), 4, Some("a multicast address")),
    (Ipv4Addr::new(240, 0, 0, 0), 4, Some("a reserved address")),
    (
        Ipv4Addr::new(255, 255, 255, 255),
        32,
        Some("a broadcast address"),
    ),
];

const fn v6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// The IPv6 registry, plus the obsolete forms that are outside 2000::/3 anyway but
/// deserve a precise reason.
const V6_BLOCKS: &[Block<Ipv6Addr>] = &[
    (Ipv6Addr::UNSPECIFIED, 128, Some("an unspecified address")),
    (Ipv6Addr::LOCALHOST, 128, Some("a loopback address")),
    (
        Ipv6Addr::UNSPECIFIED,
        96,
        Some("a deprecated IPv4-compatible address"),
    ),
    // ::ffff:0:a.b.c.d (RFC 2765, SIIT): a translator would turn it into a.b.c.d.
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        Some("an IPv4-translated address"),
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        Some("a local-use IPv4/IPv6 translation address"),
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        Some("a discard-only address"),
    ),
    (
        v6([0x100, 0, 0, 1, 0, 0, 0, 0]),
        64,
        Some("a dummy address"),
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        Some("a reserved (IETF protocol assignment) address"),
    ),
    // Teredo hides the client's IPv4 address behind a relay: refused whatever it is.
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        32,
        Some("a Teredo tunnel address"),
    ),
    // Port Control Protocol, TURN and DNS-SD SRP anycast.
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 1]), 128, None),
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 2]), 128, None),
    (v6([0x2001, 1, 0, 0, 0, 0, 0, 3]), 128, None),
    (
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0]),
        48,
        Some("a benchmarking address"),
    ),
    // AMT, AS112, ORCHIDv2 and drone remote ID tags are reachable.
    (v6([0x2001, 3, 0, 0, 0, 0, 0, 0]), 32, None),
    (v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0]), 48, None),
    (
        v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0]),
        28,
        Some("a deprecated ORCHID address"),
    ),
    (v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0]), 28, None),
    (v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0]), 28, None),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, DOCUMENTATION),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, DOCUMENTATION),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        Some("a segment routing (SRv6) address"),
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        Some("a unique-local (private) address"),
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Some("a link-local address"),
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        Some("a site-local address"),
    ),
    (
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0]),
        8,
        Some("a multicast address"),
    ),
];

/// The reason of the most specific block that holds `bits`: `None` when no block does,
/// `Some(None)` when that block is globally reachable.
fn most_specific<T: Copy>(
    blocks: &[Block<T>],
    bits: u128,
    width: u32,
    to_bits: impl Fn(T) -> u128,
) -> Option<Option<&'static str>> {
    blocks
        .iter()
        .filter(|(net, len, _)| {
            // The top `len` bits of a `width`-bit address.
            let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0) >> (128 - width);
            bits & mask == to_bits(*net) & mask
        })
        .max_by_key(|(_, len, _)| *len)
        .map(|(_, _, why)| *why)
}

/// Why an address may not be sent to, or `None` when it is public.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    most_specific(V4_BLOCKS, u128::from(u32::from(ip)), 32, |net| {
        u128::from(u32::from(net))
    })
    .flatten()
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // Addresses that carry an IPv4 address to where it goes are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refusal_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (RFC 6052): the IPv4 address is in the last 32 bits.
        return refusal_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address of the relay follows the prefix.
        return refusal_v4(embedded(s[1], s[2]));
    }
    match most_specific(V6_BLOCKS, u128::from(ip), 128, u128::from) {
        Some(why) => why,
        None if s[0] & 0xe000 != 0x2000 => Some("a reserved address"),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        refusal(ip.parse().expect("ip"))
    }

    /// Every refused block: an address inside it, the words of its reason, and the
    /// addresses just outside it, which must pass.
    const BLOCKS: &[(&str, &str, &[&str])] = &[
        ("0.0.0.0", "unspecified", &[]),
        ("0.255.255.255", "unspecified", &["1.0.0.0"]),
        ("10.0.0.1", "a private", &["9.255.255.255", "11.0.0.0"]),
        (
            "100.64.0.1",
            "carrier-grade NAT",
            &["100.63.255.255", "100.128.0.0"],
        ),
        ("127.8.9.10", "loopback", &["126.255.255.255", "128.0.0.0"]),
        (
            "169.254.169.254",
            "link-local",
            &["169.253.255.255", "169.255.0.0"],
        ),
        (
            "172.31.255.254",
            "a private",
            &["172.15.255.255", "172.32.0.0"],
        ),
        (
            "192.0.0.8",
            "IETF protocol",
            &["191.255.255.255", "192.0.1.0"],
        ),
        ("192.0.2.1", "documentation", &["192.0.1.255", "192.0.3.0"]),
        (
            "192.88.99.1",
            "6to4 relay",
            &["192.88.98.255", "192.88.100.0"],
        ),
        (
            "192.168.1.1",
            "a private",
            &["192.167.255.255", "192.169.0.0"],
        ),
        (
            "198.19.255.255",
            "benchmarking",
            &["198.17.255.255", "198.20.0.0"],
        ),
        (
            "198.51.100.7",
            "documentation",
            &["198.51.99.255", "198.51.101.0"],
        ),
        (
            "203.0.113.9",
            "documentation",
            &["203.0.112.255", "203.0.114.0"],
        ),
        ("224.0.0.1", "multicast", &["223.255.255.255"]),
        ("239.255.255.255", "multicast", &[]),
        ("240.0.0.1", "reserved", &[]),
        ("255.255.255.254", "reserved", &[]),
        ("255.255.255.255", "broadcast", &[]),
        ("::", "unspecified", &[]),
        ("::1", "loopback", &[]),
        ("::127.0.0.1", "IPv4-compatible", &[]),
        ("::2", "IPv4-compatible", &[]),
        ("::ffff:0:7f00:1", "IPv4-translated", &[]),
        ("::ffff:0:808:808", "IPv4-translated", &[]),
        ("64:ff9b:1::1", "local-use IPv4/IPv6 translation", &[]),
        ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "translation", &[]),
        ("100::1", "discard-only", &[]),
        ("100::ffff:ffff:ffff:ffff", "discard-only", &[]),
        ("100:0:0:1::1", "dummy", &[]),
        (
            "2001::1",
            "Teredo",
            &["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
        ),
        ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "Teredo", &[]),
        (
            "2001:1::4",
            "IETF protocol",
            &["2001:1::1", "2001:1::2", "2001:1::3"],
        ),
        ("2001:2::1", "benchmarking", &[]),
        (
            "2001:4:113::1",
            "IETF protocol",
            &["2001:4:112::1", "2001:3::1"],
        ),
        ("2001:10::1", "ORCHID", &["2001:20::1", "2001:30::1"]),
        ("2001:1ff:ffff::1", "IETF protocol", &["2001:200::"]),
        (
            "2001:db8::1",
            "documentation",
            &["2001:db7:ffff::1", "2001:db9::"],
        ),
        (
            "3fff:fff::1",
            "documentation",
            &["3ffe:ffff::1", "3fff:1000::"],
        ),
        ("5f00::1", "segment routing", &[]),
        ("fc00::1", "unique-local", &[]),
        ("fd12:3456::1", "unique-local", &[]),
        ("fe80::1", "link-local", &[]),
        ("febf:ffff::1", "link-local", &[]),
        ("fec0::1", "site-local", &[]),
        ("feff:ffff::1", "site-local", &[]),
        ("ff02::1", "multicast", &[]),
        (
            "4000::1",
            "reserved",
            &["3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
        ),
        ("1fff:ffff::1", "reserved", &[]),
    ];

    #[test]
    fn every_block_that_is_not_globally_reachable_is_refused_and_its_neighbours_pass() {
        for (inside, why, outside) in BLOCKS {
            let got = reason(inside);
            assert!(
                got.is_some_and(|r| r.contains(why)),
                "{inside} should be refused as {why}, got {got:?}"
            );
            for ip in *outside {
                assert_eq!(reason(ip), None, "{ip}, next to {inside}, should pass");
            }
        }
    }

    #[test]
    fn just_outside_a_block_beyond_2000_3_the_next_reason_applies() {
        for (ip, why) in [
            ("100:0:0:2::1", "reserved"),
            ("ff::1", "reserved"),
            ("64:ff9b:0:1::1", "reserved"),
            ("64:ff9b:2::1", "reserved"),
            ("::fffe:0:0:1", "reserved"),
            ("::1:0:0:0:1", "reserved"),
            ("5eff:ffff::1", "reserved"),
            ("5f01::1", "reserved"),
            ("fbff:ffff::1", "reserved"),
            ("fdff:ffff::1", "unique-local"),
            ("fe00::1", "reserved"),
            ("fe7f:ffff::1", "reserved"),
            ("ff00::", "multicast"),
        ] {
            let got = reason(ip);
            assert!(got.is_some_and(|r| r.contains(why)), "{ip}: {got:?}");
        }
    }

    #[test]
    fn reasons_read_as_a_noun_phrase() {
        for (inside, _, _) in BLOCKS {
            let why = reason(inside).unwrap_or_default();
            assert!(why.starts_with("a ") || why.starts_with("an "), "{why}");
            assert!(why.ends_with(" address"), "{why}");
        }
    }

    #[test]
    fn embedded_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for (ip, why) in [
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.1.2.3", "a private"),
            ("::ffff:192.0.2.1", "documentation"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b::cb00:7101", "documentation"),
            ("2002:7f00:1::", "loopback"),
            ("2002:c633:6401::1", "documentation"),
        ] {
            let got = reason(ip);
            assert!(got.is_some_and(|r| r.contains(why)), "{ip}: {got:?}");
        }
        for ip in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::"] {
            assert_eq!(reason(ip), None, "{ip} should pass");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "192.0.0.9",
            "192.0.0.10",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2620:4f:8000::1",
            "2a00:1450:4001::200e",
        ] {
            assert_eq!(reason(ip), None, "{ip} should pass");
        }
    }
}
