package onvif_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/onvif"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

// startCamsim starts a camera simulator with an ONVIF responder on
// loopback: profiles main (kitchen-1080) and sub (kitchen).
func startCamsim(t *testing.T, user, pass string) *camsim.ONVIF {
	t.Helper()
	s := &camsim.Server{Listen: "127.0.0.1:0", GOP: 2}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	o := &camsim.ONVIF{Server: s, Discovery: "127.0.0.1:0", Username: user, Password: pass, Name: "Kitchen cam 1",
		Profiles: []camsim.ONVIFProfile{{Token: "sub", Path: "kitchen"}, {Token: "main", Path: "kitchen-1080"}}}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestDiscoverAndStreams(t *testing.T) {
	o := startCamsim(t, "admin", "s3cret!")
	ctx := context.Background()
	res, err := onvif.Discovery{Target: o.DiscoveryAddr(), Wait: 2 * time.Second, MaxDevices: 1}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Devices) != 1 {
		t.Fatalf("devices %+v, refused %v", res.Devices, res.Refused)
	}
	d := res.Devices[0]
	if d.Name != "Kitchen cam 1" || d.Hardware != "BK-CAMSIM" || d.XAddrs[0] != o.XAddr() {
		t.Fatalf("device %+v", d)
	}

	c := &onvif.Client{XAddr: d.XAddrs[0], Username: "admin", Password: "s3cret!"}
	ps, err := c.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Token != "main" || ps[0].Width != 1920 || ps[1].Token != "sub" || ps[1].Width != 640 {
		t.Fatalf("profiles %+v", ps)
	}
	if !strings.HasPrefix(ps[0].URI, "rtsp://127.0.0.1:") || !strings.HasSuffix(ps[0].URI, "/kitchen-1080") || ps[0].Encoding != "H264" || ps[0].FPS != 25 {
		t.Fatalf("main %+v", ps[0])
	}

	bad := &onvif.Client{XAddr: d.XAddrs[0], Username: "admin", Password: "wrong"}
	if _, err := bad.Streams(ctx); !errors.Is(err, onvif.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	none := &onvif.Client{XAddr: d.XAddrs[0]}
	if _, err := none.Streams(ctx); !errors.Is(err, onvif.ErrUnauthorized) {
		t.Fatalf("no password: %v", err)
	}
}

func TestPasswordDigest(t *testing.T) {
	// Base64(SHA-1(nonce + created + password)), computed with Python's
	// hashlib for this test.
	got := onvif.PasswordDigest([]byte("0123456789abcdef"), "2026-01-02T03:04:05.000Z", "pw")
	if got != "Z5maVd8m8U9WFsA1/NhOGgqqlCA=" {
		t.Fatalf("digest %q", got)
	}
}

// hostileResponder answers every Probe with each of msgs (%s is the
// probe's message id), from a UDP socket on loopback.
func hostileResponder(t *testing.T, msgs ...string) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			id := between(string(buf[:n]), "<a:MessageID>", "</a:MessageID>")
			for _, m := range msgs {
				_, _ = c.WriteToUDP([]byte(strings.ReplaceAll(m, "%ID%", id)), from)
			}
		}
	}()
	return c.LocalAddr().String()
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func match(relates, xaddrs string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">` +
		`<s:Header><a:RelatesTo>` + relates + `</a:RelatesTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>` +
		`<a:EndpointReference><a:Address>urn:uuid:1</a:Address></a:EndpointReference><d:XAddrs>` + xaddrs +
		`</d:XAddrs><d:Scopes>onvif://www.onvif.org/name/Cam%20A</d:Scopes></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
}

func TestDiscoveryHostile(t *testing.T) {
	addr := hostileResponder(t,
		"not xml at all <<<",
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><x>&b;</x>`,
		strings.Repeat("<a>", 12000),
		match("urn:uuid:someone-else", "http://10.0.0.9/onvif/device_service"),
		match("%ID%", "ftp://10.0.0.9/ javascript:alert(1)"),
		match("%ID%", "http://127.0.0.1:1/onvif/device_service"),
		match("%ID%", "http://127.0.0.1:1/onvif/device_service"), // duplicate
	)
	res, err := onvif.Discovery{Target: addr, Wait: 1500 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Devices) != 1 || res.Devices[0].Name != "Cam A" {
		t.Fatalf("devices %+v", res.Devices)
	}
	joined := strings.Join(res.Refused, "\n")
	for _, want := range []string{"malformed", "larger than", "no http or https service address"} {
		if !strings.Contains(joined, want) {
			t.Errorf("refused %q lacks %q", joined, want)
		}
	}
}

// hostileCamera serves body for every SOAP request, with status.
func hostileCamera(t *testing.T, status int, body func(op string) string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := between(r.Header.Get("Content-Type"), "wsdl/", `"`)
		w.WriteHeader(status)
		fmt.Fprint(w, body(op))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/onvif/device_service"
}

func envelope(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>` + body + `</env:Body></env:Envelope>`
}

func TestSOAPHostile(t *testing.T) {
	caps := func(x string) string {
		return envelope(`<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>` + x + `</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`)
	}
	profiles := func(n int, w string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `<trt:Profiles token="p%d"><tt:VideoEncoderConfiguration><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>%s</tt:Width><tt:Height>10</tt:Height></tt:Resolution></tt:VideoEncoderConfiguration></trt:Profiles>`, i, w)
		}
		return envelope(`<trt:GetProfilesResponse>` + b.String() + `</trt:GetProfilesResponse>`)
	}
	uri := func(u string) string {
		return envelope(`<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>` + u + `</tt:Uri></trt:MediaUri></trt:GetStreamUriResponse>`)
	}
	var mediaHost string
	cases := []struct {
		name   string
		status int
		body   func(op string) string
		want   string
	}{
		{"not xml", 200, func(string) string { return "hello" }, "malformed"},
		{"html error page", 500, func(string) string { return "<html>oops</html>" }, "HTTP 500"},
		{"huge", 200, func(string) string { return envelope(strings.Repeat("x", onvif.MaxResponse)) }, "too large"},
		{"fault", 400, func(string) string {
			return envelope(`<env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text>busy</env:Text></env:Reason></env:Fault>`)
		}, "fault: env:Receiver: busy"},
		{"not authorized", 400, func(string) string {
			return envelope(`<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code></env:Fault>`)
		}, "refused the user name"},
		{"no media", 200, func(string) string { return caps("") }, "no media service"},
		{"too many profiles", 200, func(op string) string {
			if op == "GetCapabilities" {
				return caps("http://x/media")
			}
			return profiles(onvif.MaxProfiles+1, "10")
		}, "profiles, at most"},
		{"bad resolution", 200, func(op string) string {
			if op == "GetCapabilities" {
				return caps("http://x/media")
			}
			return profiles(1, "999999")
		}, "out of range"},
		{"bad number", 200, func(op string) string {
			if op == "GetCapabilities" {
				return caps("http://x/media")
			}
			return profiles(1, "ten")
		}, "malformed"},
		{"stream uri not rtsp", 200, func(op string) string {
			switch op {
			case "GetCapabilities":
				return caps("http://elsewhere.example:81/media")
			case "GetProfiles":
				return profiles(1, "640")
			}
			return uri("file:///etc/passwd")
		}, "not an rtsp:// URL"},
		{"charset", 200, func(string) string { return `<?xml version="1.0" encoding="ISO-8859-1"?><a/>` }, "charset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := hostileCamera(t, tc.status, func(op string) string {
				if op == "GetProfiles" {
					mediaHost = "seen"
				}
				return tc.body(op)
			})
			_, err := (&onvif.Client{XAddr: x, Username: "u", Password: "p"}).Streams(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// The media service on another host was asked on the device's host.
	if mediaHost != "seen" {
		t.Fatal("GetProfiles never reached the device's own host")
	}
}
