package locate

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Rule places the clients of Prefix in Region.
type Rule struct {
	Prefix netip.Prefix
	Region string
}

// ParseRule reads "CIDR=region", e.g. "10.1.0.0/16=eu-west". An
// IPv4-mapped prefix (::ffff:10.1.0.0/112) becomes the IPv4 prefix it maps,
// since client addresses are unmapped before matching.
func ParseRule(s string) (Rule, error) {
	i := strings.LastIndexByte(s, '=')
	if i < 0 || i == len(s)-1 {
		return Rule{}, fmt.Errorf("region rule %q: want CIDR=region", s)
	}
	p, err := netip.ParsePrefix(s[:i])
	if err == nil {
		p, err = normalizePrefix(p)
	}
	if err != nil {
		return Rule{}, fmt.Errorf("region rule %q: %w", s, err)
	}
	return Rule{Prefix: p, Region: s[i+1:]}, nil
}

// normalizePrefix masks p and turns an IPv4-mapped prefix into IPv4.
func normalizePrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, errors.New("invalid prefix")
	}
	if p.Addr().Zone() != "" {
		return p, errors.New("prefix with a zone")
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return p, errors.New("IPv4-mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
