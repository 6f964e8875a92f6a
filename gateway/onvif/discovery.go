package onvif

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultTarget is WS-Discovery's IPv4 multicast group and port.
const DefaultTarget = "239.255.255.250:3702"

// Bounds on what a discovery answer may hold.
const (
	// MaxDatagram is the largest ProbeMatches datagram parsed; a larger
	// one is refused unread.
	MaxDatagram = 32 << 10
	// MaxMatches is the most ProbeMatch elements kept from one datagram.
	MaxMatches = 16
	// MaxXAddrs and MaxScopes bound the lists of one match.
	MaxXAddrs = 8
	MaxScopes = 64
	// maxField bounds one address, scope or name, in bytes.
	maxField = 1024
)

// Device is a camera that answered a Probe.
type Device struct {
	// Endpoint is the device's stable id (its endpoint reference address,
	// usually urn:uuid:…).
	Endpoint string `json:"endpoint"`
	// XAddrs are its device service URLs, http or https.
	XAddrs []string `json:"xaddrs"`
	// Scopes are its ONVIF scopes (onvif://www.onvif.org/…).
	Scopes []string `json:"scopes,omitempty"`
	// Name and Hardware are from the name/ and hardware/ scopes, when
	// present (percent-decoded).
	Name     string `json:"name,omitempty"`
	Hardware string `json:"hardware,omitempty"`
	// From is the address the answer came from.
	From string `json:"from"`
}

// Discovery sends Probes and collects the answers. The zero value probes
// the multicast group and waits 2 s.
type Discovery struct {
	// Target is where the Probe goes. Default DefaultTarget; a unicast
	// address (a camera, or a test's responder on loopback) works too.
	Target string
	// Wait is how long answers are collected. Default 2s.
	Wait time.Duration
	// MaxDevices bounds the devices returned. Default 64.
	MaxDevices int
}

// Result is what one discovery found.
type Result struct {
	Devices []Device `json:"devices"`
	// Refused says, for each answer that was not used, who sent it and
	// why (too large, malformed, no usable address), at most 16.
	Refused []string `json:"refused,omitempty"`
}

// Run sends a Probe for NetworkVideoTransmitter devices and collects the
// ProbeMatches that answer it until Wait passes or ctx ends. Answers to
// another Probe, duplicates and answers that do not parse are left out
// (the bad ones listed in Refused).
func (d Discovery) Run(ctx context.Context) (Result, error) {
	target := d.Target
	if target == "" {
		target = DefaultTarget
	}
	wait := d.Wait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	maxDev := d.MaxDevices
	if maxDev <= 0 {
		maxDev = 64
	}
	raddr, err := net.ResolveUDPAddr("udp4", target)
	if err != nil {
		return Result{}, fmt.Errorf("discovery target %q: %w", target, err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return Result{}, fmt.Errorf("discovery: %w", err)
	}
	defer conn.Close()

	id := newMessageID()
	probe := Probe(id)
	// UDP may lose a datagram: the Probe goes twice (WS-Discovery's
	// MULTICAST_UDP_REPEAT is 1 repeat); answers to both carry the same id.
	for range 2 {
		if _, err := conn.WriteToUDP(probe, raddr); err != nil {
			return Result{}, fmt.Errorf("discovery: send probe to %s: %w", target, err)
		}
	}
	deadline := time.Now().Add(wait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	if err := conn.SetReadDeadline(deadline); err != nil {
		return Result{}, err
	}

	var res Result
	seen := map[string]bool{}
	refuse := func(format string, args ...any) {
		if len(res.Refused) < 16 {
			res.Refused = append(res.Refused, fmt.Sprintf(format, args...))
		}
	}
	buf := make([]byte, MaxDatagram+1)
	// Bounded: at most this many datagrams are read, whatever arrives.
	for range 4 * (maxDev + 16) {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return res, fmt.Errorf("discovery: %w", err)
		}
		if n > MaxDatagram {
			refuse("%s: answer larger than %d bytes", from, MaxDatagram)
			continue
		}
		relates, matches, err := ParseProbeMatches(buf[:n])
		if err != nil {
			refuse("%s: %v", from, err)
			continue
		}
		if relates != id {
			continue // an answer to someone else's probe
		}
		for _, m := range matches {
			m.From = from.String()
			if len(m.XAddrs) == 0 {
				refuse("%s: %s has no http or https service address", from, m.Endpoint)
				continue
			}
			key := m.Endpoint
			if key == "" {
				key = m.XAddrs[0]
			}
			if seen[key] || len(res.Devices) >= maxDev {
				continue
			}
			seen[key] = true
			res.Devices = append(res.Devices, m)
		}
		if len(res.Devices) >= maxDev {
			break
		}
	}
	slices.SortFunc(res.Devices, func(a, b Device) int { return strings.Compare(a.XAddrs[0], b.XAddrs[0]) })
	return res, nil
}

// newMessageID is a random urn:uuid (version 4).
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Namespaces of the messages.
const (
	nsSOAP      = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsDiscovery = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
	nsNetwork   = "http://www.onvif.org/ver10/network/wsdl"
)

// Probe is the WS-Discovery Probe with message id id, for devices of type
// dn:NetworkVideoTransmitter.
func Probe(id string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:d="` + nsDiscovery + `" xmlns:dn="` + nsNetwork + `">` +
		`<s:Header><a:Action s:mustUnderstand="1">` + nsDiscovery + `/Probe</a:Action><a:MessageID>`)
	_ = xml.EscapeText(&b, []byte(id))
	b.WriteString(`</a:MessageID><a:ReplyTo><a:Address>` + nsAddr + `/role/anonymous</a:Address></a:ReplyTo>` +
		`<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
		`<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`)
	return b.Bytes()
}

type probeMatchesEnvelope struct {
	Header struct {
		RelatesTo string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing RelatesTo"`
		Action    string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Matches *struct {
			Match []struct {
				Endpoint string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing EndpointReference>Address"`
				Types    string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery Types"`
				Scopes   string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery Scopes"`
				XAddrs   string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery XAddrs"`
			} `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ProbeMatch"`
		} `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ProbeMatches"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

// ParseProbeMatches reads a ProbeMatches message: the id of the Probe it
// answers (RelatesTo) and its devices, whose XAddrs keep only the http
// and https URLs. A message over MaxDatagram, not XML, not a SOAP
// envelope with ProbeMatches, or with more than MaxMatches matches is
// an error (wrapping ErrTooLarge or ErrMalformed); over-long lists and
// fields are errors too.
func ParseProbeMatches(b []byte) (relatesTo string, devices []Device, err error) {
	if len(b) > MaxDatagram {
		return "", nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxDatagram)
	}
	var env probeMatchesEnvelope
	if err := decodeXML(b, "Envelope", nsSOAP, &env); err != nil {
		return "", nil, err
	}
	if env.Body.Matches == nil {
		return "", nil, fmt.Errorf("%w: not a ProbeMatches message", ErrMalformed)
	}
	ms := env.Body.Matches.Match
	if len(ms) > MaxMatches {
		return "", nil, fmt.Errorf("%w: %d matches, at most %d", ErrTooLarge, len(ms), MaxMatches)
	}
	relatesTo = strings.TrimSpace(env.Header.RelatesTo)
	if len(relatesTo) > maxField {
		return "", nil, fmt.Errorf("%w: RelatesTo longer than %d bytes", ErrTooLarge, maxField)
	}
	for _, m := range ms {
		d := Device{Endpoint: strings.TrimSpace(m.Endpoint)}
		if len(d.Endpoint) > maxField {
			return "", nil, fmt.Errorf("%w: endpoint address longer than %d bytes", ErrTooLarge, maxField)
		}
		xaddrs := strings.Fields(m.XAddrs)
		if len(xaddrs) > MaxXAddrs {
			return "", nil, fmt.Errorf("%w: %d XAddrs, at most %d", ErrTooLarge, len(xaddrs), MaxXAddrs)
		}
		for _, x := range xaddrs {
			if len(x) > maxField {
				return "", nil, fmt.Errorf("%w: an XAddr longer than %d bytes", ErrTooLarge, maxField)
			}
			if u, err := url.Parse(x); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
				d.XAddrs = append(d.XAddrs, x)
			}
		}
		scopes := strings.Fields(m.Scopes)
		if len(scopes) > MaxScopes {
			return "", nil, fmt.Errorf("%w: %d scopes, at most %d", ErrTooLarge, len(scopes), MaxScopes)
		}
		for _, s := range scopes {
			if len(s) > maxField {
				return "", nil, fmt.Errorf("%w: a scope longer than %d bytes", ErrTooLarge, maxField)
			}
			d.Scopes = append(d.Scopes, s)
			if v, ok := scopeValue(s, "name/"); ok && d.Name == "" {
				d.Name = v
			}
			if v, ok := scopeValue(s, "hardware/"); ok && d.Hardware == "" {
				d.Hardware = v
			}
		}
		devices = append(devices, d)
	}
	return relatesTo, devices, nil
}

// scopeValue is the percent-decoded rest of an ONVIF scope
// onvif://www.onvif.org/<kind><value>.
func scopeValue(scope, kind string) (string, bool) {
	rest, ok := strings.CutPrefix(scope, "onvif://www.onvif.org/"+kind)
	if !ok || rest == "" {
		return "", false
	}
	if v, err := url.PathUnescape(rest); err == nil {
		rest = v
	}
	return strings.ToValidUTF8(rest, ""), true
}

// decodeXML unmarshals b into v after checking that its root element is
// {ns}local. Errors wrap ErrMalformed.
func decodeXML(b []byte, local, ns string, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	// Only UTF-8 (and no declared charset) is read; a camera that says
	// otherwise is refused rather than half-read.
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("charset %q is not supported", label)
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != local || se.Name.Space != ns {
				return fmt.Errorf("%w: root element is %s, want %s", ErrMalformed, se.Name.Local, local)
			}
			if err := dec.DecodeElement(v, &se); err != nil {
				return fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return nil
		}
	}
}
