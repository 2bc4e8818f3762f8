package locate

import (
	"net/netip"
	"strings"
)

// ClientAddr returns the address of the client behind a connection from
// remote that carried the given X-Forwarded-For header lines. Unless remote
// is a trusted proxy the header is ignored. Otherwise the hops are read from
// the right, skipping trusted proxies, and the first untrusted one is the
// client; entries left of it may be forged and are never read. An entry
// that does not parse stops the walk at the last good hop, as does running
// out of entries. Entries may carry a port ("192.0.2.1:443",
// "[2001:db8::1]:443"). The result is unmapped and has no zone; it is the
// zero Addr only when remote is.
func (l *Locator) ClientAddr(remote netip.Addr, xff ...string) netip.Addr {
	addr := remote.Unmap().WithZone("")
	if !l.trusted(addr) {
		return addr
	}
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, entry = line[:j], line[j+1:]
			} else {
				line, entry = "", line
			}
			hop, ok := parseHop(entry)
			if !ok {
				return addr
			}
			addr = hop
			if !l.trusted(addr) {
				return addr
			}
		}
	}
	return addr
}

func (l *Locator) trusted(a netip.Addr) bool {
	return l.proxies.lookup(a) != 0
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port, surrounded by optional spaces.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
