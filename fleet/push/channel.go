package push

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Channel kinds.
const (
	KindWeCom    = "wecom"
	KindDingTalk = "dingtalk"
	KindSMS      = "sms"
	KindWebhook  = "webhook"
)

// Kinds are the channel kinds, in the order the UI offers them.
var Kinds = []string{KindWeCom, KindDingTalk, KindSMS, KindWebhook}

// Channel scopes.
const (
	ScopeAll      = "all"
	ScopeCanteen  = "canteen"
	ScopeDistrict = "district"
	ScopeUser     = "user"
)

// Default base URLs of the robots (Config.BaseURL empty).
const (
	DefaultWeComBase    = "https://qyapi.weixin.qq.com"
	DefaultDingTalkBase = "https://oapi.dingtalk.com"
)

// Limits of a channel's config, checked before it is stored.
const (
	MaxName       = 100
	MaxSecret     = 256
	MaxURL        = 2048
	MaxTemplate   = 4096
	MaxHeaders    = 16
	MaxHeaderText = 1024
	MaxPhone      = 32
)

// ErrInvalid marks a channel or subscription the caller must correct;
// the message says which field and why.
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Config is a channel's settings; which fields count depends on the kind.
// Secret fields are never shown back (Redacted).
type Config struct {
	// BaseURL replaces the robot's default host (DefaultWeComBase,
	// DefaultDingTalkBase; "" is the default): http or https, no query.
	BaseURL string `json:"base_url,omitempty"`
	// Key is the 企业微信 robot's key (secret).
	Key string `json:"key,omitempty"`
	// AccessToken is the 钉钉 robot's access_token (secret).
	AccessToken string `json:"access_token,omitempty"`
	// Secret is the 钉钉 robot's signing secret ("SEC…"; "" when the
	// robot uses keywords or addresses instead) or the webhook's HMAC key
	// (secret).
	Secret string `json:"secret,omitempty"`
	// Format is "markdown" (the default) or "text" for the robots.
	Format string `json:"format,omitempty"`
	// URL is the webhook's, or the SMS template's (placeholders allowed
	// in its query).
	URL string `json:"url,omitempty"`
	// Method is the SMS template's (GET or POST, default POST).
	Method string `json:"method,omitempty"`
	// Headers are the SMS template's (values are secret: they often hold
	// an API key).
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the SMS template's body with placeholders.
	Body string `json:"body,omitempty"`
	// BodyFormat says how placeholders are escaped in Body: "json" (as
	// inside a JSON string, the default), "form" (URL-encoded) or "text".
	BodyFormat string `json:"body_format,omitempty"`
	// ContentType is the SMS body's; default from BodyFormat.
	ContentType string `json:"content_type,omitempty"`
	// SuccessStatus is the SMS gateway's status on success; 0 means any
	// 2xx.
	SuccessStatus int `json:"success_status,omitempty"`
	// SuccessContains, when set, must occur in the SMS gateway's reply
	// (its first 64 KiB) for a success.
	SuccessContains string `json:"success_contains,omitempty"`
}

// Channel is a place pushes go.
type Channel struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Scope and ScopeID: ScopeAll (no id), ScopeCanteen (a canteen id),
	// ScopeDistrict (a district), ScopeUser (a user id).
	Scope     string    `json:"scope"`
	ScopeID   string    `json:"scope_id,omitempty"`
	Config    Config    `json:"config"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Redacted is the channel with its secrets replaced by "••••" (set) or
// "" (unset): what the API returns and the audit log records.
func (c Channel) Redacted() Channel {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return Hidden
	}
	c.Config.Key, c.Config.AccessToken, c.Config.Secret = hide(c.Config.Key), hide(c.Config.AccessToken), hide(c.Config.Secret)
	if c.Config.Headers != nil {
		h := make(map[string]string, len(c.Config.Headers))
		for k, v := range c.Config.Headers {
			h[k] = hide(v)
		}
		c.Config.Headers = h
	}
	if c.Kind == KindWebhook || c.Kind == KindSMS {
		c.Config.URL = redactURL(c.Config.URL)
	}
	return c
}

// Hidden stands for a secret in what the API returns. Sent back in an
// update, it keeps the stored value (KeepSecrets).
const Hidden = "••••"

// KeepSecrets copies into c the secrets old has where c says Hidden: an
// update from the UI, which never saw them, keeps them.
func (c *Channel) KeepSecrets(old Channel) {
	keep := func(s *string, o string) {
		if *s == Hidden {
			*s = o
		}
	}
	keep(&c.Config.Key, old.Config.Key)
	keep(&c.Config.AccessToken, old.Config.AccessToken)
	keep(&c.Config.Secret, old.Config.Secret)
	for k, v := range c.Config.Headers {
		if v == Hidden {
			c.Config.Headers[k] = old.Config.Headers[k]
		}
	}
	if c.Config.URL == redactURL(old.Config.URL) {
		c.Config.URL = old.Config.URL
	}
}

// redactURL hides a URL's user info and query values (tokens).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(Hidden)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if !strings.Contains(q.Get(k), "{{") {
				q.Set(k, Hidden)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

var (
	headerName  = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)
	placeholder = regexp.MustCompile(`\{\{([a-z_]*)\}\}`)
	// idChars are what a channel's id may hold.
	idChars = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// Placeholders are the names a template may use.
var Placeholders = []string{"phone", "title", "text", "canteen", "type", "severity"}

// checkURL accepts an absolute http or https URL of at most MaxURL bytes
// without user info; query says whether a query may be there.
func checkURL(field, s string, query bool) error {
	if len(s) > MaxURL {
		return invalid("%s: over %d bytes", field, MaxURL)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return invalid("%s: must not contain spaces or line breaks", field)
	}
	u, err := url.Parse(strings.NewReplacer("{{", "", "}}", "").Replace(s))
	if err != nil {
		return invalid("%s: not a URL", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalid("%s: scheme must be http or https", field)
	}
	if u.Host == "" || u.Opaque != "" {
		return invalid("%s: want http(s)://host/…", field)
	}
	if u.User != nil {
		return invalid("%s: must not carry user info (put credentials in a header)", field)
	}
	if !query && (u.RawQuery != "" || u.Fragment != "") {
		return invalid("%s: must have no query or fragment", field)
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return invalid("%s: over %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return invalid("%s: not UTF-8", field)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return invalid("%s: must be one line", field)
	}
	return nil
}

func checkPlaceholders(field, s string) error {
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return invalid("%s: unknown placeholder {{%s}} (want one of %s)", field, m[1], strings.Join(Placeholders, ", "))
		}
	}
	return nil
}

// Validate checks a channel before it is stored; the error names the
// field and the reason.
func (c Channel) Validate() error {
	if c.ID != "" && !idChars.MatchString(c.ID) {
		return invalid("id: 1-64 letters, digits, '_' or '-'")
	}
	if !slices.Contains(Kinds, c.Kind) {
		return invalid("kind %q: want one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
	if err := checkText("name", c.Name, MaxName); err != nil {
		return err
	}
	switch c.Scope {
	case ScopeAll:
		if c.ScopeID != "" {
			return invalid("scope_id: none for scope all")
		}
	case ScopeCanteen, ScopeDistrict, ScopeUser:
		if c.ScopeID == "" {
			return invalid("scope_id: required for scope %s", c.Scope)
		}
		if err := checkText("scope_id", c.ScopeID, 64); err != nil {
			return err
		}
	default:
		return invalid("scope %q: want all, canteen, district or user", c.Scope)
	}
	cf := c.Config
	for f, v := range map[string]string{"config.key": cf.Key, "config.access_token": cf.AccessToken, "config.secret": cf.Secret} {
		if err := checkText(f, v, MaxSecret); err != nil {
			return err
		}
	}
	if cf.BaseURL != "" {
		if c.Kind != KindWeCom && c.Kind != KindDingTalk {
			return invalid("config.base_url: only for wecom and dingtalk")
		}
		if err := checkURL("config.base_url", cf.BaseURL, false); err != nil {
			return err
		}
	}
	if cf.Format != "" && cf.Format != "markdown" && cf.Format != "text" {
		return invalid("config.format %q: want markdown or text", cf.Format)
	}
	if cf.URL != "" && c.Kind != KindWebhook && c.Kind != KindSMS {
		return invalid("config.url: only for webhook and sms (a robot takes its key or token, and base_url)")
	}
	switch c.Kind {
	case KindWeCom:
		if cf.Key == "" {
			return invalid("config.key: required (the robot's webhook key)")
		}
	case KindDingTalk:
		if cf.AccessToken == "" {
			return invalid("config.access_token: required (the robot's access_token)")
		}
	case KindWebhook:
		if err := checkURL("config.url", cf.URL, true); err != nil {
			return err
		}
	case KindSMS:
		return c.validateSMS()
	}
	if len(cf.Headers) > 0 || cf.Body != "" || cf.Method != "" {
		return invalid("config: headers, body and method are for sms templates only")
	}
	return nil
}

func (c Channel) validateSMS() error {
	cf := c.Config
	if err := checkURL("config.url", cf.URL, true); err != nil {
		return err
	}
	if err := checkPlaceholders("config.url", cf.URL); err != nil {
		return err
	}
	if cf.Method != "" && cf.Method != "GET" && cf.Method != "POST" {
		return invalid("config.method %q: want GET or POST", cf.Method)
	}
	if len(cf.Body) > MaxTemplate {
		return invalid("config.body: over %d bytes", MaxTemplate)
	}
	if !utf8.ValidString(cf.Body) {
		return invalid("config.body: not UTF-8")
	}
	if err := checkPlaceholders("config.body", cf.Body); err != nil {
		return err
	}
	if cf.Method == "GET" && cf.Body != "" {
		return invalid("config.body: a GET has no body")
	}
	switch cf.BodyFormat {
	case "", "json", "form", "text":
	default:
		return invalid("config.body_format %q: want json, form or text", cf.BodyFormat)
	}
	if len(cf.Headers) > MaxHeaders {
		return invalid("config.headers: over %d", MaxHeaders)
	}
	for k, v := range cf.Headers {
		if !headerName.MatchString(k) {
			return invalid("config.headers: %q is not a header name", cut(k, 64))
		}
		if err := checkText("config.headers."+k, v, MaxHeaderText); err != nil {
			return err
		}
	}
	if err := checkText("config.content_type", cf.ContentType, 128); err != nil {
		return err
	}
	if cf.SuccessStatus != 0 && (cf.SuccessStatus < 100 || cf.SuccessStatus > 599) {
		return invalid("config.success_status %d: want an HTTP status (0 for any 2xx)", cf.SuccessStatus)
	}
	return checkText("config.success_contains", cf.SuccessContains, 256)
}

// cut cuts s to n bytes for a message.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
