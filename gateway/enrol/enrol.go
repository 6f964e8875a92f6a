// Package enrol is the gateway's side of enrolment: Exchange sends a
// one-time code, made by an operator on the fleet's canteen page, to the
// fleet's POST /api/v1/enrol (wire.EnrolRequest) and gets back the
// gateway's id, its MQTT credentials, the broker's URLs and, where the
// fleet's TLS certificates come from a private CA, that CA
// (wire.EnrolResponse). WriteConfig puts them into the gateway's config
// file, creating it from a template if it is absent and otherwise editing
// only the keys it sets (gateway.id, broker.url, broker.username,
// broker.password, broker.ca_file), keeping the rest and its comments;
// the file is replaced atomically, mode 0600, as it holds a password.
//
// `bk-gateway enrol` and the gateway's setup page both call them. The
// exchange goes over HTTPS: plain http:// is refused unless the fleet is
// on this machine (loopback) or Options.Insecure says so, since the
// answer carries the gateway's password.
package enrol

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/version"
)

// Result is what an accepted code brings: the fleet's answer.
type Result = wire.EnrolResponse

// Errors callers branch on.
var (
	// ErrRefused: the fleet refused the code (wrong, used, revoked or
	// expired: it does not say which).
	ErrRefused = errors.New("the fleet refused the code: it is wrong, used, revoked or expired (ask the canteen's operator for a new one)")
	// ErrInsecure: a plain http:// fleet URL that is not on this machine,
	// without Options.Insecure.
	ErrInsecure = errors.New("refusing to send the code over plain http:// to a fleet that is not on this machine: use https://")
	// ErrRateLimited: too many refused codes from this address lately.
	ErrRateLimited = errors.New("the fleet refuses codes from this address for a while after too many wrong ones")
)

// Options tune Exchange; the zero value of each is its default.
type Options struct {
	// Name is the gateway id to ask for; "" for the one the code names
	// or, failing that, one the fleet makes up. A code made for a name
	// enrols that name whatever Name says.
	Name string
	// Hardware describes this box to the fleet. Default: Describe().
	Hardware *wire.Hardware
	// CAFile is a PEM file of CA certificates that verify the fleet's
	// HTTPS certificate. Default: the system's roots.
	CAFile string
	// Insecure allows plain http:// to a fleet that is not on loopback.
	Insecure bool
	// Client sends the request. Default: one with a 30 s timeout (and
	// CAFile's roots).
	Client *http.Client
}

// Describe is what the gateway says of itself by default: its
// architecture, OS, version, and the board's model where Linux's device
// tree names it.
func Describe() *wire.Hardware {
	h := &wire.Hardware{Arch: runtime.GOARCH, OS: runtime.GOOS, Version: version.String()}
	if b, err := os.ReadFile("/proc/device-tree/model"); err == nil {
		h.Model = strings.TrimRight(string(b), "\x00\n")
	}
	for _, v := range []*string{&h.Model, &h.Version} {
		*v = printable(*v, wire.MaxHardwareField)
	}
	return h
}

// printable keeps the printable ASCII of s, at most n bytes.
func printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// maxResponse bounds the fleet's answer as read.
const maxResponse = wire.MaxPayload

// Exchange sends code to the fleet at fleetURL (its web address, as the
// operator's browser opens it: https://fleet.example.cn) and returns its
// answer. A refused code is ErrRefused; a plain http:// URL to another
// machine, without o.Insecure, ErrInsecure (nothing is sent).
func Exchange(ctx context.Context, fleetURL, code string, o Options) (Result, error) {
	u, err := url.Parse(strings.TrimSpace(fleetURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Result{}, fmt.Errorf("fleet URL %q: want https://host[:port]", fleetURL)
	}
	if u.Scheme == "http" && !o.Insecure && !loopback(u.Hostname()) {
		return Result{}, ErrInsecure
	}
	req := wire.EnrolRequest{V: wire.Version, Code: strings.TrimSpace(code), Name: o.Name, Hardware: o.Hardware}
	if req.Hardware == nil {
		req.Hardware = Describe()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	// The request is checked here as the fleet checks it, so that a bad
	// name is said before anything is sent.
	if _, err := wire.DecodeEnrolRequest(body); err != nil {
		return Result{}, fmt.Errorf("enrol: %w", err)
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return Result{}, fmt.Errorf("CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return Result{}, fmt.Errorf("CA file %s: no PEM certificate in it", o.CAFile)
			}
			client.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment,
				TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		}
	}
	endpoint := strings.TrimRight(u.String(), "/") + wire.EnrolPath
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		return Result{}, fmt.Errorf("reach the fleet: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return Result{}, fmt.Errorf("read the fleet's answer: %w", err)
	}
	if resp.StatusCode == http.StatusCreated {
		r, err := wire.DecodeEnrolResponse(b)
		if err != nil {
			return r, fmt.Errorf("the fleet's answer: %w", err)
		}
		if r.CAPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(r.CAPEM)) {
			return r, errors.New("the fleet's answer: ca_pem holds no PEM certificate")
		}
		return r, nil
	}
	var e struct{ Error, Code string }
	_ = json.Unmarshal(b, &e)
	switch {
	case resp.StatusCode == http.StatusBadRequest && e.Code == "bad_code":
		return Result{}, ErrRefused
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := resp.Header.Get("Retry-After")
		if _, err := strconv.Atoi(wait); err != nil {
			wait = "?"
		}
		return Result{}, fmt.Errorf("%w: try again in %s s", ErrRateLimited, wait)
	case e.Error != "":
		return Result{}, fmt.Errorf("the fleet answered %d: %s", resp.StatusCode, printable(e.Error, 300))
	}
	return Result{}, fmt.Errorf("the fleet answered %d %s (is %s the fleet's web address?)", resp.StatusCode,
		http.StatusText(resp.StatusCode), u.Redacted())
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
