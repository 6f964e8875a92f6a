package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of what the robots take (their documentation: markdown content
// at most 4096 bytes, text 2048), kept with a margin.
const (
	maxMarkdown = 4000
	maxText     = 2000
	// maxReply is how much of a reply is read.
	maxReply = 64 << 10
)

// Sender sends deliveries over HTTP.
type Sender struct {
	// Client sends the requests; required.
	Client *http.Client
	// WeComBase and DingTalkBase replace the robots' default hosts for
	// channels that name none (tests point them at loopback); ""
	// means DefaultWeComBase, DefaultDingTalkBase.
	WeComBase, DingTalkBase string
	// Now is the clock for signatures; nil means time.Now.
	Now func() time.Time
}

// errcodeReply is the robots' answer.
type errcodeReply struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// Send delivers it through ch (to recipient, for SMS); the error says
// why it failed (never with the channel's secrets).
func (s *Sender) Send(ctx context.Context, ch Channel, recipient string, deliveryID int64, it Item) error {
	switch ch.Kind {
	case KindWeCom:
		return s.wecom(ctx, ch, it)
	case KindDingTalk:
		return s.dingtalk(ctx, ch, it)
	case KindSMS:
		return s.sms(ctx, ch, recipient, it)
	case KindWebhook:
		return s.webhook(ctx, ch, deliveryID, it)
	}
	return fmt.Errorf("channel kind %q is not supported", ch.Kind)
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// robotMsg is a robot's message: {"msgtype":…, "markdown"|"text": …}.
type robotMsg struct {
	MsgType  string       `json:"msgtype"`
	Markdown *robotFields `json:"markdown,omitempty"`
	Text     *robotFields `json:"text,omitempty"`
}

type robotFields struct {
	Title   string `json:"title,omitempty"`
	Text    string `json:"text,omitempty"`
	Content string `json:"content,omitempty"`
}

// marshal is json.Marshal without escaping '<', '>' and '&' (the
// markdown's quotes are '>'), and without the encoder's newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// WeComBody is the JSON a 企业微信 robot is sent for it:
// {"msgtype":"markdown","markdown":{"content":…}} or, with format text,
// {"msgtype":"text","text":{"content":…}}.
func WeComBody(ch Channel, it Item) ([]byte, error) {
	if ch.Config.Format == "text" {
		return marshal(robotMsg{MsgType: "text", Text: &robotFields{Content: truncate(it.PlainText(), maxText)}})
	}
	return marshal(robotMsg{MsgType: "markdown", Markdown: &robotFields{Content: truncate(it.Markdown(), maxMarkdown)}})
}

// DingTalkBody is the JSON a 钉钉 robot is sent for it:
// {"msgtype":"markdown","markdown":{"title":…,"text":…}} or, with format
// text, {"msgtype":"text","text":{"content":…}}.
func DingTalkBody(ch Channel, it Item) ([]byte, error) {
	if ch.Config.Format == "text" {
		return marshal(robotMsg{MsgType: "text", Text: &robotFields{Content: truncate(it.PlainText(), maxText)}})
	}
	return marshal(robotMsg{MsgType: "markdown", Markdown: &robotFields{Title: truncate(it.Title(), 100), Text: truncate(it.Markdown(), maxMarkdown)}})
}

func (s *Sender) wecom(ctx context.Context, ch Channel, it Item) error {
	body, err := WeComBody(ch, it)
	if err != nil {
		return err
	}
	base := strings.TrimRight(orDefault(ch.Config.BaseURL, orDefault(s.WeComBase, DefaultWeComBase)), "/")
	u := base + "/cgi-bin/webhook/send?key=" + url.QueryEscape(ch.Config.Key)
	return s.robot(ctx, u, body)
}

// DingTalkSign is the 钉钉 robot's signature of a request at ts (Unix
// milliseconds) under secret, URL-encoded as the query takes it: the
// base64 of HMAC-SHA256(secret, "<ts>\n<secret>").
func DingTalkSign(secret string, ts int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "\n" + secret))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func (s *Sender) dingtalk(ctx context.Context, ch Channel, it Item) error {
	body, err := DingTalkBody(ch, it)
	if err != nil {
		return err
	}
	base := strings.TrimRight(orDefault(ch.Config.BaseURL, orDefault(s.DingTalkBase, DefaultDingTalkBase)), "/")
	u := base + "/robot/send?access_token=" + url.QueryEscape(ch.Config.AccessToken)
	if ch.Config.Secret != "" {
		ts := s.now().UnixMilli()
		u += "&timestamp=" + strconv.FormatInt(ts, 10) + "&sign=" + DingTalkSign(ch.Config.Secret, ts)
	}
	return s.robot(ctx, u, body)
}

// robot POSTs body to u and checks the robots' reply: HTTP 2xx and
// errcode 0.
func (s *Sender) robot(ctx context.Context, u string, body []byte) error {
	status, reply, err := s.do(ctx, http.MethodPost, u, "application/json", nil, body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("HTTP %d: %q", status, cut(string(reply), 200))
	}
	var r errcodeReply
	if err := json.Unmarshal(reply, &r); err != nil || r.ErrCode == nil {
		return fmt.Errorf("reply is not the robot's JSON: %q", cut(string(reply), 200))
	}
	if *r.ErrCode != 0 {
		return fmt.Errorf("errcode %d: %s", *r.ErrCode, cut(r.ErrMsg, 200))
	}
	return nil
}

// do sends one request; the error never holds the URL (it may carry a
// key or token).
func (s *Sender) do(ctx context.Context, method, u, contentType string, header map[string]string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, errors.New("bad request URL")
	}
	if contentType != "" && body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "bk-fleet-push")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s: %w", strings.ToLower(method), err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	return resp.StatusCode, reply, nil
}

// Values are the placeholders' values for an item sent to phone.
func Values(it Item, phone string) map[string]string {
	canteen := it.CanteenName
	if canteen == "" {
		canteen = it.CanteenID
	}
	return map[string]string{"phone": phone, "title": it.Title(), "text": it.SMS(), "canteen": canteen,
		"type": it.ViolationType, "severity": it.Severity}
}

// Expand fills a template's placeholders with vals, each escaped by
// esc.
func Expand(tmpl string, vals map[string]string, esc func(string) string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		return esc(vals[m[2:len(m)-2]])
	})
}

// jsonString escapes s as the inside of a JSON string.
func jsonString(s string) string {
	b, _ := marshal(s)
	return string(b[1 : len(b)-1])
}

// SMSRequest is what an SMS channel sends for it to phone: the method,
// URL, content type and body.
func SMSRequest(ch Channel, phone string, it Item) (method, u, contentType string, body []byte) {
	cf := ch.Config
	vals := Values(it, phone)
	method = orDefault(cf.Method, http.MethodPost)
	u = Expand(cf.URL, vals, url.QueryEscape)
	if method == http.MethodGet {
		return method, u, "", nil
	}
	esc, ct := jsonString, "application/json"
	switch cf.BodyFormat {
	case "form":
		esc, ct = url.QueryEscape, "application/x-www-form-urlencoded"
	case "text":
		esc, ct = func(s string) string { return s }, "text/plain; charset=utf-8"
	}
	return method, u, orDefault(cf.ContentType, ct), []byte(Expand(cf.Body, vals, esc))
}

func (s *Sender) sms(ctx context.Context, ch Channel, phone string, it Item) error {
	method, u, ct, body := SMSRequest(ch, phone, it)
	status, reply, err := s.do(ctx, method, u, ct, ch.Config.Headers, body)
	if err != nil {
		return err
	}
	ok := status >= 200 && status <= 299
	if ch.Config.SuccessStatus != 0 {
		ok = status == ch.Config.SuccessStatus
	}
	if !ok {
		return fmt.Errorf("HTTP %d: %q", status, cut(string(reply), 200))
	}
	if ch.Config.SuccessContains != "" && !bytes.Contains(reply, []byte(ch.Config.SuccessContains)) {
		return fmt.Errorf("reply lacks %q: %q", ch.Config.SuccessContains, cut(string(reply), 200))
	}
	return nil
}

// Sign is the X-BK-Signature of a webhook delivery sent at ts (Unix
// seconds) with body, under secret: "sha256=" and the hex HMAC-SHA256 of
// the decimal timestamp, a '.' and the body (the fleet's webhook scheme,
// fleet/notify).
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (s *Sender) webhook(ctx context.Context, ch Channel, id int64, it Item) error {
	body, err := json.Marshal(it)
	if err != nil {
		return err
	}
	h := map[string]string{"X-BK-Delivery": "push-" + strconv.FormatInt(id, 10)}
	if ch.Config.Secret != "" {
		ts := s.now().Unix()
		h["X-BK-Timestamp"] = strconv.FormatInt(ts, 10)
		h["X-BK-Signature"] = Sign(ch.Config.Secret, ts, body)
	}
	status, reply, err := s.do(ctx, http.MethodPost, ch.Config.URL, "application/json", h, body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("HTTP %d: %q", status, cut(string(reply), 200))
	}
	return nil
}
