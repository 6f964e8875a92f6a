package live

import (
	"fmt"
	"net/url"
	"strings"
)

// Origin is where a gateway may publish: the fleet it is enrolled with. A
// live.start whose whip_url is elsewhere is refused with ErrForeignWHIP, so
// a command (or whoever forged one) cannot send a camera to another server.
type Origin struct {
	// Scheme is http or https; "" allows both.
	Scheme string
	// Host is the host name or IP address (no port, no brackets); required.
	Host string
	// Port is the port; "" allows any. With a Scheme and no Port, the
	// scheme's default port (80, 443) is meant.
	Port string
}

// OriginOf is the Origin of a fleet URL (scheme://host[:port]).
func OriginOf(s string) (Origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Origin{}, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Origin{}, fmt.Errorf("%q is not an http or https URL", s)
	}
	return Origin{Scheme: u.Scheme, Host: u.Hostname(), Port: effectivePort(u)}, nil
}

// Allows reports whether u is on this origin.
func (o Origin) Allows(u *url.URL) bool {
	if o.Host == "" {
		return false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	if o.Scheme != "" && u.Scheme != o.Scheme {
		return false
	}
	if !strings.EqualFold(u.Hostname(), o.Host) {
		return false
	}
	return o.Port == "" || effectivePort(u) == o.Port
}

func (o Origin) String() string {
	s := o.Host
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if o.Port != "" {
		s += ":" + o.Port
	} else {
		s += ":*"
	}
	if o.Scheme == "" {
		return "http(s)://" + s
	}
	return o.Scheme + "://" + s
}

// effectivePort is u's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
