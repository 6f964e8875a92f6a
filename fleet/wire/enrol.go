package wire

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Enrolment over HTTP(S): a new gateway exchanges a one-time code, made
// by an operator for a canteen, for its identity and MQTT credentials.
// This is the one part of the device contract that is not MQTT: the
// gateway has no credentials to connect with yet. SPEC.md §4 describes
// the endpoint; fleet/enrol the codes; gateway/enrol the client.

// EnrolPath is the fleet's enrolment endpoint: POST, unauthenticated, an
// EnrolRequest in, an EnrolResponse out (201), or an error.
const EnrolPath = "/api/v1/enrol"

// Limits of an enrolment request.
const (
	// MaxEnrolRequest is the largest request body the fleet reads.
	MaxEnrolRequest = 4 << 10
	// MaxEnrolCode is the longest code accepted as typed (with dashes
	// and spaces); a code is 16 symbols.
	MaxEnrolCode = 64
	// MaxHardwareField is the longest value of a Hardware field, in bytes.
	MaxHardwareField = 128
)

// EnrolRequest is what a gateway sends to enrol.
type EnrolRequest struct {
	// V is Version; 0 (left out) is taken as Version.
	V int `json:"v,omitempty"`
	// Code is the enrolment code as typed: "K7QM-2XJD-94RT-HVNA", in any
	// case, with or without the dashes.
	Code string `json:"code"`
	// Name is the gateway id the gateway asks for (ValidID), or "" for
	// the one the code names or, if it names none, one the fleet makes.
	// A code made for a gateway name enrols that name whatever Name says.
	Name string `json:"name,omitempty"`
	// Hardware describes the box, for the audit log and the fleet's
	// records; optional.
	Hardware *Hardware `json:"hardware,omitempty"`
}

// Hardware is what a gateway says of itself when it enrols. Each field
// is at most MaxHardwareField bytes of printable text.
type Hardware struct {
	Model   string `json:"model,omitempty"`
	Arch    string `json:"arch,omitempty"`
	OS      string `json:"os,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Version string `json:"version,omitempty"`
}

// EnrolResponse is the fleet's answer to an accepted code.
type EnrolResponse struct {
	V         int    `json:"v"`
	GatewayID string `json:"gateway_id"`
	CanteenID string `json:"canteen_id"`
	// Username and Password are the gateway's MQTT credentials, sent only
	// now (the fleet keeps a hash of the password).
	Username string `json:"username"`
	Password string `json:"password"`
	// BrokerURLs are the broker's URLs as gateways reach it, the fleet's
	// preferred first (TLS before plain where both are served).
	BrokerURLs []string `json:"broker_urls"`
	// CAPEM is the PEM certificate(s) of the CA that signs the fleet's
	// TLS certificates, when the fleet is configured with one; "" when
	// TLS is off or the broker's certificate is publicly trusted.
	CAPEM string `json:"ca_pem,omitempty"`
}

// DecodeEnrolRequest decodes and checks an enrolment request: sizes,
// version, the code's length, the name (ValidID) and the hardware's
// text. The code itself is checked by the fleet (fleet/enrol).
func DecodeEnrolRequest(b []byte) (EnrolRequest, error) {
	const kind = "enrol request"
	var r EnrolRequest
	if len(b) > MaxEnrolRequest {
		return r, bad(kind, "%d bytes, limit %d", len(b), MaxEnrolRequest)
	}
	if err := decode(kind, b, &r); err != nil {
		return r, err
	}
	if r.V == 0 {
		r.V = Version
	}
	if err := checkV(kind, r.V); err != nil {
		return r, err
	}
	switch {
	case strings.TrimSpace(r.Code) == "":
		return r, bad(kind, "code: required")
	case len(r.Code) > MaxEnrolCode:
		return r, bad(kind, "code: %d bytes, limit %d", len(r.Code), MaxEnrolCode)
	case r.Name != "" && !ValidID(r.Name):
		return r, bad(kind, "name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", r.Name)
	}
	if h := r.Hardware; h != nil {
		for _, f := range []struct{ name, v string }{{"model", h.Model}, {"arch", h.Arch}, {"os", h.OS},
			{"serial", h.Serial}, {"version", h.Version}} {
			if err := checkText(f.v, MaxHardwareField); err != "" {
				return r, bad(kind, "hardware.%s: %s", f.name, err)
			}
		}
	}
	return r, nil
}

// DecodeEnrolResponse decodes and checks the fleet's answer: the
// identity and credentials present and well formed, at least one broker
// URL.
func DecodeEnrolResponse(b []byte) (EnrolResponse, error) {
	const kind = "enrol response"
	var r EnrolResponse
	if err := decode(kind, b, &r); err != nil {
		return r, err
	}
	if err := checkV(kind, r.V); err != nil {
		return r, err
	}
	switch {
	case !ValidID(r.GatewayID):
		return r, bad(kind, "gateway_id %q invalid", r.GatewayID)
	case r.CanteenID != "" && !ValidID(r.CanteenID):
		return r, bad(kind, "canteen_id %q invalid", r.CanteenID)
	case r.Username == "" || r.Password == "":
		return r, bad(kind, "username and password: required")
	case len(r.BrokerURLs) == 0:
		return r, bad(kind, "broker_urls: empty")
	}
	for _, s := range []string{r.Username, r.Password} {
		if err := checkText(s, 256); err != "" {
			return r, bad(kind, "credentials: %s", err)
		}
	}
	for _, u := range r.BrokerURLs {
		if err := checkText(u, 1024); err != "" || u == "" {
			return r, bad(kind, "broker_urls: %q invalid", u)
		}
	}
	return r, nil
}

// checkText says what is wrong with s as a short printable text of at
// most n bytes ("" if nothing).
func checkText(s string, n int) string {
	switch {
	case len(s) > n:
		return "over " + strconv.Itoa(n) + " bytes"
	case !utf8.ValidString(s):
		return "not UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "control characters"
	}
	return ""
}
