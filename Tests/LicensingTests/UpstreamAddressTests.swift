import Licensing
import Testing

@Suite("Upstream addresses: the ranges PDX does not forward to")
struct UpstreamAddressTests {
    @Test("IP literals in every written form are read as addresses; host names are not")
    func literals() {
        #expect(UpstreamAddress.literal("127.0.0.1")?.description == "127.0.0.1")
        #expect(UpstreamAddress.literal("127.1")?.description == "127.0.0.1")
        #expect(UpstreamAddress.literal("2130706433")?.description == "127.0.0.1")
        #expect(UpstreamAddress.literal("0x7f.0.0.1")?.description == "127.0.0.1")
        #expect(UpstreamAddress.literal("[::1]")?.description == "::1")
        #expect(UpstreamAddress.literal("FD00:0:0::1")?.description == "fd00::1")
        for name in ["example.org", "localhost", "1.2.3.example", "", "[]", "[example.org]", "::g"] {
            #expect(UpstreamAddress.literal(name) == nil, "\(name)")
        }
    }

    @Test("loopback, private, link-local, unique-local, multicast, unspecified and reserved ranges are named; public ones pass")
    func ranges() throws {
        let forbidden = [
            "0.0.0.0": "unspecified", "0.1.2.3": "unspecified", "10.0.0.1": "private", "172.16.0.1": "private",
            "172.31.255.255": "private", "192.168.0.1": "private", "100.64.0.1": "shared (carrier-grade NAT)",
            "127.0.0.1": "loopback", "127.255.0.9": "loopback", "169.254.169.254": "link-local", "224.0.0.1": "multicast",
            "239.255.255.250": "multicast", "255.255.255.255": "reserved", "240.0.0.1": "reserved",
            "::": "unspecified", "::1": "loopback", "fe80::1": "link-local", "fec0::1": "site-local", "fc00::1": "unique-local",
            "fd12:3456::1": "unique-local", "ff02::1": "multicast", "::ffff:127.0.0.1": "loopback", "::ffff:10.0.0.1": "private",
            "::10.0.0.1": "private", "64:ff9b::a9fe:a9fe": "link-local",
        ]
        for (text, range) in forbidden {
            let address = try #require(UpstreamAddress.literal(text), "\(text)")
            #expect(UpstreamAddress.forbiddenRange(address) == range, "\(text)")
        }
        for text in ["8.8.8.8", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.0.1",
                     "223.255.255.255", "1.1.1.1", "2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            let address = try #require(UpstreamAddress.literal(text), "\(text)")
            #expect(UpstreamAddress.forbiddenRange(address) == nil, "\(text)")
        }
    }

    @Test("the authority of a normalized base URL: host without brackets, the scheme's port by default")
    func authority() throws {
        let plain = try #require(UpstreamEndpoint.authority(of: "http://example.org/api"))
        #expect(plain.host == "example.org" && plain.port == 80 && plain.written == "example.org" && plain.rest == "/api")
        let tls = try #require(UpstreamEndpoint.authority(of: "https://[::1]:8443"))
        #expect(tls.host == "::1" && tls.port == 8443 && tls.written == "[::1]:8443" && tls.rest == "")
        #expect(UpstreamEndpoint.authority(of: "https://example.org/")?.port == 443)
        #expect(UpstreamEndpoint.authority(of: "ftp://example.org") == nil)
        #expect(UpstreamEndpoint.authority(of: "http://example.org:0/") == nil)
    }
}
