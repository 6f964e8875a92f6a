package onvif

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxResponse is the largest SOAP response a Client reads, in bytes.
const MaxResponse = 1 << 20

// MaxProfiles is the most media profiles a Client takes from a device.
const MaxProfiles = 32

// Namespaces of the device and media services.
const (
	nsDevice = "http://www.onvif.org/ver10/device/wsdl"
	nsMedia  = "http://www.onvif.org/ver10/media/wsdl"
	nsSchema = "http://www.onvif.org/ver10/schema"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
)

// Client talks to one ONVIF device. Settings are read at each call; the
// zero value of each means its default.
type Client struct {
	// XAddr is the device service URL (a Device's XAddrs[0], or typed in:
	// http://192.168.1.64/onvif/device_service). Required.
	XAddr string
	// Username and Password, when Username is set, go in each request as a
	// WS-Security UsernameToken with a password digest. Default none.
	Username, Password string
	// HTTP sends the requests. Default: a client with a 5 s timeout.
	HTTP *http.Client
	// Now is the clock for the token's Created. Default time.Now.
	Now func() time.Time
}

// Profile is one media profile of a device: an encoder and its stream.
type Profile struct {
	Token string `json:"token"`
	Name  string `json:"name"`
	// Encoding is the video codec as the device names it (H264, H265,
	// JPEG, MPEG4).
	Encoding string  `json:"encoding"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	FPS      float64 `json:"fps"`
	// Bitrate is the encoder's limit in kbit/s (0 when not given).
	Bitrate int `json:"bitrate_kbps,omitempty"`
	// URI is the RTSP URL of the profile's stream (StreamURI).
	URI string `json:"uri,omitempty"`
}

// MediaXAddr asks the device service where the media service is
// (GetCapabilities, category Media).
func (c *Client) MediaXAddr(ctx context.Context) (string, error) {
	var resp struct {
		XAddr string `xml:"GetCapabilitiesResponse>Capabilities>Media>XAddr"`
	}
	body := `<tds:GetCapabilities xmlns:tds="` + nsDevice + `"><tds:Category>Media</tds:Category></tds:GetCapabilities>`
	if err := c.call(ctx, c.XAddr, "GetCapabilities", nsDevice, body, &resp); err != nil {
		return "", err
	}
	x := strings.TrimSpace(resp.XAddr)
	if x == "" {
		return "", fmt.Errorf("%w: GetCapabilities: the device has no media service", ErrMalformed)
	}
	return c.sameHost(x)
}

// Profiles lists the media profiles of the media service at media.
func (c *Client) Profiles(ctx context.Context, media string) ([]Profile, error) {
	var resp struct {
		Profiles []struct {
			Token string `xml:"token,attr"`
			Name  string `xml:"Name"`
			Enc   *struct {
				Encoding   string `xml:"Encoding"`
				Resolution struct {
					Width  int `xml:"Width"`
					Height int `xml:"Height"`
				} `xml:"Resolution"`
				RateControl struct {
					FrameRateLimit float64 `xml:"FrameRateLimit"`
					BitrateLimit   int     `xml:"BitrateLimit"`
				} `xml:"RateControl"`
			} `xml:"VideoEncoderConfiguration"`
		} `xml:"GetProfilesResponse>Profiles"`
	}
	body := `<trt:GetProfiles xmlns:trt="` + nsMedia + `"/>`
	if err := c.call(ctx, media, "GetProfiles", nsMedia, body, &resp); err != nil {
		return nil, err
	}
	if len(resp.Profiles) > MaxProfiles {
		return nil, fmt.Errorf("%w: GetProfiles: %d profiles, at most %d", ErrTooLarge, len(resp.Profiles), MaxProfiles)
	}
	var out []Profile
	for _, p := range resp.Profiles {
		if p.Enc == nil {
			continue // audio only, or no encoder yet
		}
		pr := Profile{Token: p.Token, Name: clean(p.Name), Encoding: clean(p.Enc.Encoding),
			Width: p.Enc.Resolution.Width, Height: p.Enc.Resolution.Height,
			FPS: p.Enc.RateControl.FrameRateLimit, Bitrate: p.Enc.RateControl.BitrateLimit}
		if pr.Token == "" || len(pr.Token) > 64 {
			return nil, fmt.Errorf("%w: GetProfiles: a profile token is empty or longer than 64 bytes", ErrMalformed)
		}
		if pr.Width < 0 || pr.Height < 0 || pr.Width > 1<<14 || pr.Height > 1<<14 || pr.FPS < 0 || pr.FPS > 1000 {
			return nil, fmt.Errorf("%w: GetProfiles: profile %q: resolution %dx%d or frame rate %g out of range",
				ErrMalformed, pr.Token, pr.Width, pr.Height, pr.FPS)
		}
		out = append(out, pr)
	}
	return out, nil
}

// StreamURI asks the media service for the RTSP URL of a profile's stream
// (RTP unicast over RTSP). The URL must be rtsp or rtsps.
func (c *Client) StreamURI(ctx context.Context, media, token string) (string, error) {
	var resp struct {
		URI string `xml:"GetStreamUriResponse>MediaUri>Uri"`
	}
	var tok bytes.Buffer
	_ = xml.EscapeText(&tok, []byte(token))
	body := `<trt:GetStreamUri xmlns:trt="` + nsMedia + `" xmlns:tt="` + nsSchema + `">` +
		`<trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>` +
		`<trt:ProfileToken>` + tok.String() + `</trt:ProfileToken></trt:GetStreamUri>`
	if err := c.call(ctx, media, "GetStreamUri", nsMedia, body, &resp); err != nil {
		return "", err
	}
	s := strings.TrimSpace(resp.URI)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" || len(s) > maxField {
		return "", fmt.Errorf("%w: GetStreamUri: %q is not an rtsp:// URL", ErrMalformed, truncate(s, 80))
	}
	return s, nil
}

// Streams is the device's video profiles with their RTSP URLs, the largest
// picture first (the main stream, then the sub-streams).
func (c *Client) Streams(ctx context.Context) ([]Profile, error) {
	media, err := c.MediaXAddr(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := c.Profiles(ctx, media)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: the device has no video profile", ErrMalformed)
	}
	for i := range ps {
		if ps[i].URI, err = c.StreamURI(ctx, media, ps[i].Token); err != nil {
			return nil, fmt.Errorf("profile %q: %w", ps[i].Token, err)
		}
	}
	slices.SortStableFunc(ps, func(a, b Profile) int { return b.Width*b.Height - a.Width*a.Height })
	return ps, nil
}

// sameHost returns the path (and query) of x on the device service's
// scheme, host and port: see the package doc.
func (c *Client) sameHost(x string) (string, error) {
	dev, err := url.Parse(c.XAddr)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(x)
	if err != nil || len(x) > maxField {
		return "", fmt.Errorf("%w: service address %q", ErrMalformed, truncate(x, 80))
	}
	out := *dev
	out.Path, out.RawPath, out.RawQuery = u.Path, u.RawPath, u.RawQuery
	return out.String(), nil
}

// call posts one SOAP 1.2 request and decodes the body of the answer into
// v (whose fields name the response element).
func (c *Client) call(ctx context.Context, addr, op, ns, body string, v any) error {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("onvif: %s: service address %q is not an http(s) URL", op, truncate(addr, 80))
	}
	var env bytes.Buffer
	env.WriteString(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="` + nsSOAP + `"><s:Header>`)
	if c.Username != "" {
		c.writeSecurity(&env)
	}
	env.WriteString(`</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &env)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+ns+"/"+op+`"`)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("onvif: %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return fmt.Errorf("onvif: %s: read answer: %w", op, err)
	}
	return parseResponse(op, resp.StatusCode, b, v)
}

// parseResponse reads a SOAP answer of HTTP status status to op into v:
// a fault is an error (ErrUnauthorized for NotAuthorized), and so is an
// answer that is not a SOAP envelope.
func parseResponse(op string, status int, b []byte, v any) error {
	if len(b) > MaxResponse {
		return fmt.Errorf("%w: %s: answer over %d bytes", ErrTooLarge, op, MaxResponse)
	}
	if status == http.StatusUnauthorized {
		return fmt.Errorf("%s: %w", op, ErrUnauthorized)
	}
	var envelope struct {
		Body struct {
			Fault *fault `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
	}
	if err := decodeXML(b, "Envelope", nsSOAP, &envelope); err != nil {
		if status != http.StatusOK {
			return fmt.Errorf("onvif: %s: HTTP %d", op, status)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if f := envelope.Body.Fault; f != nil {
		if f.unauthorized() {
			return fmt.Errorf("%s: %w", op, ErrUnauthorized)
		}
		return fmt.Errorf("onvif: %s: the camera answered a fault: %s", op, f)
	}
	if status != http.StatusOK {
		return fmt.Errorf("onvif: %s: HTTP %d", op, status)
	}
	// v's fields are paths from the Body's children; the body is decoded
	// in the document's own namespace context.
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, op, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Body" && se.Name.Space == nsSOAP {
			if err := dec.DecodeElement(v, &se); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrMalformed, op, err)
			}
			return nil
		}
	}
}

// writeSecurity writes a WS-Security header with a UsernameToken whose
// password is Base64(SHA-1(nonce + created + password)).
func (c *Client) writeSecurity(w *bytes.Buffer) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	created := now().UTC().Format("2006-01-02T15:04:05.000Z")
	w.WriteString(`<wsse:Security s:mustUnderstand="1" xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `"><wsse:UsernameToken><wsse:Username>`)
	_ = xml.EscapeText(w, []byte(c.Username))
	w.WriteString(`</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">`)
	w.WriteString(PasswordDigest(nonce[:], created, c.Password))
	w.WriteString(`</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">`)
	w.WriteString(base64.StdEncoding.EncodeToString(nonce[:]))
	w.WriteString(`</wsse:Nonce><wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`)
}

// PasswordDigest is the UsernameToken profile's password digest:
// Base64(SHA-1(nonce + created + password)), nonce in its raw bytes.
func PasswordDigest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// fault is a SOAP 1.2 Fault.
type fault struct {
	Code    string   `xml:"http://www.w3.org/2003/05/soap-envelope Code>Value"`
	Subcode []string `xml:"http://www.w3.org/2003/05/soap-envelope Code>Subcode>Value"`
	Sub2    []string `xml:"http://www.w3.org/2003/05/soap-envelope Code>Subcode>Subcode>Value"`
	Reason  []string `xml:"http://www.w3.org/2003/05/soap-envelope Reason>Text"`
}

func (f *fault) unauthorized() bool {
	for _, s := range slices.Concat(f.Subcode, f.Sub2) {
		if strings.HasSuffix(strings.TrimSpace(s), "NotAuthorized") {
			return true
		}
	}
	return false
}

func (f *fault) String() string {
	parts := []string{clean(f.Code)}
	for _, s := range slices.Concat(f.Subcode, f.Sub2) {
		parts = append(parts, clean(s))
	}
	s := strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " / ")
	if len(f.Reason) > 0 {
		s += ": " + clean(f.Reason[0])
	}
	return truncate(s, 200)
}

// clean trims a device's text, drops invalid UTF-8 and control
// characters, and bounds it to 128 bytes.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(strings.TrimSpace(s), ""))
	return truncate(s, 128)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xc0 != 0x80 }
