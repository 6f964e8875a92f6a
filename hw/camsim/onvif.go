package camsim

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ONVIFProfile is one media profile an ONVIF responder offers: a token and
// the Server path whose stream it is.
type ONVIFProfile struct {
	// Token names the profile, e.g. "main" or "sub". Required.
	Token string
	// Path is the Server path played, e.g. "kitchen". Required.
	Path string
}

// ONVIF makes a Server answer as an ONVIF camera would, for the gateway's
// camera discovery: WS-Discovery Probes on UDP (ProbeMatches naming the
// device service), and on HTTP the device service's GetCapabilities and the
// media service's GetProfiles and GetStreamUri (SOAP 1.2), the latter two
// behind a WS-Security UsernameToken digest when Username is set. It is a
// test double of the few operations the gateway uses, not a conformant
// device. Set the fields, then Start.
type ONVIF struct {
	// Server is the RTSP server whose paths the profiles play. Required,
	// started.
	Server *Server
	// Listen is the HTTP address of the device and media services.
	// Default 127.0.0.1:0.
	Listen string
	// Discovery is the UDP address that answers Probes, e.g.
	// 127.0.0.1:3702; "" answers none.
	Discovery string
	// Multicast also joins WS-Discovery's group 239.255.255.250 on
	// Discovery's port (a real LAN). Default false.
	Multicast bool
	// Username and Password are required of media requests when Username
	// is set. Default none.
	Username, Password string
	// Name and Hardware go in the discovery scopes. Defaults "camsim" and
	// "BK-CAMSIM".
	Name, Hardware string
	// Profiles are the media profiles, the main stream first. Default one
	// profile "main" playing "kitchen".
	Profiles []ONVIFProfile
	// Logger receives the responder's logs. Default slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex
	http     *http.Server
	httpLn   net.Listener
	udp      []*net.UDPConn
	endpoint string
	wg       sync.WaitGroup
}

// Start listens on Listen (and Discovery) and serves until Close.
func (o *ONVIF) Start() error {
	if o.Server == nil || o.Server.Addr() == "" {
		return fmt.Errorf("%w: ONVIF needs a started Server", ErrBadConfig)
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Name == "" {
		o.Name = "camsim"
	}
	if o.Hardware == "" {
		o.Hardware = "BK-CAMSIM"
	}
	if len(o.Profiles) == 0 {
		o.Profiles = []ONVIFProfile{{Token: "main", Path: "kitchen"}}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.endpoint = fmt.Sprintf("urn:uuid:bc000000-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffffffff)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("onvif listen: %w", err)
	}
	o.httpLn = ln
	mux := http.NewServeMux()
	mux.HandleFunc("POST /onvif/device_service", o.serveSOAP)
	mux.HandleFunc("POST /onvif/media_service", o.serveSOAP)
	o.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	o.wg.Add(1)
	go func() { defer o.wg.Done(); _ = o.http.Serve(ln) }()

	if o.Discovery != "" {
		addr, err := net.ResolveUDPAddr("udp4", o.Discovery)
		if err != nil {
			o.Close()
			return fmt.Errorf("onvif discovery %q: %w", o.Discovery, err)
		}
		c, err := net.ListenUDP("udp4", addr)
		if err != nil {
			o.Close()
			return fmt.Errorf("onvif discovery: %w", err)
		}
		o.addUDP(c)
		if o.Multicast {
			g := &net.UDPAddr{IP: net.IPv4(239, 255, 255, 250), Port: c.LocalAddr().(*net.UDPAddr).Port}
			mc, err := net.ListenMulticastUDP("udp4", nil, g)
			if err != nil {
				o.Close()
				return fmt.Errorf("onvif discovery multicast: %w", err)
			}
			o.addUDP(mc)
		}
	}
	return nil
}

func (o *ONVIF) addUDP(c *net.UDPConn) {
	o.mu.Lock()
	o.udp = append(o.udp, c)
	o.mu.Unlock()
	o.wg.Add(1)
	go func() { defer o.wg.Done(); o.answerProbes(c) }()
}

// Close stops serving and waits.
func (o *ONVIF) Close() error {
	if o.http != nil {
		_ = o.http.Close()
	}
	o.mu.Lock()
	for _, c := range o.udp {
		c.Close()
	}
	o.mu.Unlock()
	o.wg.Wait()
	return nil
}

// XAddr is the device service URL.
func (o *ONVIF) XAddr() string {
	return "http://" + o.httpLn.Addr().String() + "/onvif/device_service"
}

// DiscoveryAddr is the UDP address answering Probes ("" when none).
func (o *ONVIF) DiscoveryAddr() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.udp) == 0 {
		return ""
	}
	return o.udp[0].LocalAddr().String()
}

const (
	onvSOAP = "http://www.w3.org/2003/05/soap-envelope"
	onvAddr = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	onvDisc = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
)

// answerProbes answers each Probe for NetworkVideoTransmitter (or for any
// type) with a ProbeMatches naming the device service.
func (o *ONVIF) answerProbes(c *net.UDPConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var probe struct {
			MessageID string `xml:"Header>MessageID"`
			Types     *struct {
				Types string `xml:"Types"`
			} `xml:"Body>Probe"`
		}
		if xml.Unmarshal(buf[:n], &probe) != nil || probe.Types == nil {
			continue
		}
		if t := probe.Types.Types; t != "" && !strings.Contains(t, "NetworkVideoTransmitter") && !strings.Contains(t, "Device") {
			continue
		}
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="` + onvSOAP + `" xmlns:a="` + onvAddr +
			`" xmlns:d="` + onvDisc + `" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>` +
			`<a:Action>` + onvDisc + `/ProbeMatches</a:Action><a:RelatesTo>`)
		_ = xml.EscapeText(&b, []byte(probe.MessageID))
		b.WriteString(`</a:RelatesTo><a:To>` + onvAddr + `/role/anonymous</a:To></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>` +
			`<a:EndpointReference><a:Address>` + o.endpoint + `</a:Address></a:EndpointReference>` +
			`<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming ` +
			`onvif://www.onvif.org/name/` + url.PathEscape(o.Name) + ` onvif://www.onvif.org/hardware/` + url.PathEscape(o.Hardware) +
			`</d:Scopes><d:XAddrs>` + o.XAddr() + `</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`)
		_, _ = c.WriteToUDP(b.Bytes(), from)
	}
}

// soapRequest is what the responder reads of a request.
type soapRequest struct {
	Security *struct {
		Username string `xml:"UsernameToken>Username"`
		Password string `xml:"UsernameToken>Password"`
		Nonce    string `xml:"UsernameToken>Nonce"`
		Created  string `xml:"UsernameToken>Created"`
	} `xml:"Header>Security"`
	Body struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"Body"`
}

func (o *ONVIF) serveSOAP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return
	}
	var req soapRequest
	if err := xml.Unmarshal(b, &req); err != nil {
		o.fault(w, http.StatusBadRequest, "env:Sender", "ter:WellFormed", "malformed request")
		return
	}
	op := firstElement(req.Body.Inner)
	// GetCapabilities needs no credentials (ONVIF's pre-auth list).
	if op != "GetCapabilities" && o.Username != "" && !o.authorized(req) {
		o.fault(w, http.StatusBadRequest, "env:Sender", "ter:NotAuthorized", "Sender not Authorized")
		return
	}
	host := r.Host
	var body string
	switch op {
	case "GetCapabilities":
		body = `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>http://` + host +
			`/onvif/media_service</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`
	case "GetProfiles":
		body = o.profiles()
	case "GetStreamUri":
		var q struct {
			Token string `xml:"GetStreamUri>ProfileToken"`
		}
		_ = xml.Unmarshal(append(append([]byte("<b>"), req.Body.Inner...), "</b>"...), &q)
		p, ok := o.profile(strings.TrimSpace(q.Token))
		if !ok {
			o.fault(w, http.StatusBadRequest, "env:Sender", "ter:NoProfile", "no such profile")
			return
		}
		var u bytes.Buffer
		_ = xml.EscapeText(&u, []byte(o.Server.URL(p.Path)))
		body = `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>` + u.String() +
			`</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`
	default:
		o.fault(w, http.StatusBadRequest, "env:Receiver", "ter:ActionNotSupported", "not supported by camsim")
		return
	}
	o.reply(w, http.StatusOK, body)
}

func (o *ONVIF) profile(token string) (ONVIFProfile, bool) {
	for _, p := range o.Profiles {
		if p.Token == token {
			return p, true
		}
	}
	return ONVIFProfile{}, false
}

func (o *ONVIF) profiles() string {
	info := map[string]PathInfo{}
	for _, p := range o.Server.Paths() {
		info[p.Name] = p
	}
	var b strings.Builder
	b.WriteString(`<trt:GetProfilesResponse>`)
	for _, p := range o.Profiles {
		pi := info[p.Path]
		enc := "H264"
		if pi.Codec == CodecH265 {
			enc = "H265"
		}
		fmt.Fprintf(&b, `<trt:Profiles token="%s" fixed="true"><tt:Name>%s</tt:Name>`+
			`<tt:VideoEncoderConfiguration token="enc-%s"><tt:Name>enc-%s</tt:Name><tt:UseCount>1</tt:UseCount>`+
			`<tt:Encoding>%s</tt:Encoding><tt:Resolution><tt:Width>%d</tt:Width><tt:Height>%d</tt:Height></tt:Resolution>`+
			`<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>%d</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>`+
			`<tt:BitrateLimit>2048</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration></trt:Profiles>`,
			xmlText(p.Token), xmlText(p.Token), xmlText(p.Token), xmlText(p.Token), enc, pi.Width, pi.Height, pi.FPS)
	}
	b.WriteString(`</trt:GetProfilesResponse>`)
	return b.String()
}

// authorized checks the request's UsernameToken digest.
func (o *ONVIF) authorized(req soapRequest) bool {
	s := req.Security
	if s == nil || s.Username != o.Username {
		return false
	}
	nonce, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Nonce))
	if err != nil {
		return false
	}
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(strings.TrimSpace(s.Created)))
	h.Write([]byte(o.Password))
	want := base64.StdEncoding.EncodeToString(h.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.TrimSpace(s.Password))) == 1
}

func (o *ONVIF) reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="`+onvSOAP+
		`" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl"`+
		` xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>`+body+`</env:Body></env:Envelope>`)
}

func (o *ONVIF) fault(w http.ResponseWriter, status int, code, sub, reason string) {
	o.reply(w, status, `<env:Fault><env:Code><env:Value>`+code+`</env:Value><env:Subcode><env:Value>`+sub+
		`</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">`+xmlText(reason)+`</env:Text></env:Reason></env:Fault>`)
}

// firstElement is the local name of the first element in b.
func firstElement(b []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
