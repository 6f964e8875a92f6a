package main

import (
	"fmt"
	"net"
	"strconv"
)

// listenAddr reads the value of a listen flag (name, without dashes) as a
// TCP address: host:port as such, ":port" for every interface (Go's
// convention), and a bare port as defHost:port, the flag's default host
// (127.0.0.1: `--http 18080` stays on loopback as `--http` does by default).
// Anything else is an error that names the flag.
func listenAddr(name, value, defHost string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("--%s %q: %s; want host:port, :port or a port", name, value, why)
	}
	if _, err := strconv.ParseUint(value, 10, 16); err == nil {
		return net.JoinHostPort(defHost, value), nil
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		return bad("not an address")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return bad("port " + strconv.Quote(port) + " is not a number from 0 to 65535")
	}
	return net.JoinHostPort(host, port), nil
}
