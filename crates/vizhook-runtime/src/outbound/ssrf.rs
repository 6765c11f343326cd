//! Which addresses outbound requests may reach. Outside `--dev`, vizhook refuses destinations
//! that resolve to loopback, private, link-local (including cloud metadata services), shared,
//! multicast, documentation or reserved addresses, including the same addresses embedded in
//! IPv6 (IPv4-mapped, NAT64, 6to4), unless an operator allowed their network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The policy applied to every address an outbound request would connect to.
#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    allow_all: bool,
    allow: Vec<IpNet>,
}

impl AddressGuard {
    pub fn new(allow_all: bool, allow: Vec<IpNet>) -> Self {
        Self { allow_all, allow }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_all || is_global(ip) || self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// Whether an address is reachable on the public internet.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = a == 0 // "this network"
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !blocked
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded_v4 =
        |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    match segments {
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => return is_global_v4(embedded_v4(high, low)),
        // 6to4 2002::/16 carries an IPv4 address in bits 16..48.
        [0x2002, high, low, ..] => return is_global_v4(embedded_v4(high, low)),
        _ => {}
    }
    let first = segments[0];
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || segments[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated)
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first & 0xff00) == 0xff00 // multicast
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        || (first == 0x2001 && segments[1] == 0) // Teredo hides an IPv4 address
        || (first == 0x2001 && (segments[1] & 0xfff0) == 0x0010) // ORCHID
        || (first == 0x0100 && segments[1..4] == [0, 0, 0]); // discard-only
    !blocked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = blocked.parse().unwrap();
            assert!(!is_global(ip), "{blocked} must be refused");
        }
        for open in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = open.parse().unwrap();
            assert!(is_global(ip), "{open} must be allowed");
        }
    }

    #[test]
    fn operators_can_allow_networks() {
        let guard = AddressGuard::new(false, vec!["10.20.0.0/16".parse().unwrap()]);
        assert!(guard.permits("10.20.1.1".parse().unwrap()));
        assert!(!guard.permits("10.21.1.1".parse().unwrap()));
        assert!(AddressGuard::new(true, vec![]).permits("127.0.0.1".parse().unwrap()));
    }
}
