package push_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/push"
)

// FuzzChannel feeds channel JSON as the API takes it from an admin: a
// channel Validate accepts never shows a secret Redacted, and the
// requests made of it are well formed (a parsable http(s) URL, a robot's
// body that is JSON within its size).
func FuzzChannel(f *testing.F) {
	for _, s := range []string{
		`{"kind":"wecom","name":"g","scope":"all","config":{"key":"K1SECRET"}}`,
		`{"kind":"dingtalk","name":"d","scope":"user","scope_id":"u","config":{"access_token":"T1SECRET","secret":"S1SECRET","format":"text"}}`,
		`{"kind":"sms","name":"s","scope":"all","config":{"url":"https://h/s?k=K2SECRET&to={{phone}}","headers":{"X-Key":"H1SECRET"},"body":"{\"m\":\"{{text}}\"}"}}`,
		`{"kind":"sms","name":"s","scope":"all","config":{"url":"http://h/{{canteen}}","method":"GET"}}`,
		`{"kind":"webhook","name":"w","scope":"district","scope_id":"x","config":{"url":"http://u:p@h/","secret":"W1SECRET"}}`,
	} {
		f.Add([]byte(s), "食堂 <b>\n\"quote\"", "smoking")
	}
	f.Fuzz(func(t *testing.T, raw []byte, canteen, typ string) {
		var c push.Channel
		if json.Unmarshal(raw, &c) != nil || c.Validate() != nil {
			return
		}
		red, _ := json.Marshal(c.Redacted())
		secrets := []string{c.Config.Key, c.Config.AccessToken, c.Config.Secret}
		for _, v := range c.Config.Headers {
			secrets = append(secrets, v)
		}
		// What is not secret may hold the same text (a name equal to a key).
		pub := c
		pub.Config.Key, pub.Config.AccessToken, pub.Config.Secret, pub.Config.Headers, pub.Config.URL = "", "", "", nil, ""
		open, _ := json.Marshal(pub)
		for _, s := range secrets {
			if len(s) >= 6 && s != push.Hidden && strings.Contains(string(red), s) && !strings.Contains(string(open), s) {
				t.Fatalf("redacted %s shows %q", red, s)
			}
		}
		it := push.Item{Key: "alarm:1", Kind: push.ItemAlarm, CanteenID: "c", CanteenName: canteen, ViolationType: typ,
			Severity: push.Severity(typ), Text: canteen, At: time.Unix(1700000000, 0)}
		switch c.Kind {
		case push.KindSMS:
			method, u, _, _ := push.SMSRequest(c, "+8613800001111", it)
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || (method != "GET" && method != "POST") {
				t.Fatalf("SMS request %s %q: %v", method, u, err)
			}
		case push.KindWeCom, push.KindDingTalk:
			for _, body := range [][]byte{must(push.WeComBody(c, it)), must(push.DingTalkBody(c, it))} {
				if !json.Valid(body) || len(body) > 16<<10 {
					t.Fatalf("robot body of %d bytes, valid %v", len(body), json.Valid(body))
				}
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
