package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/retention"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// complaintWorld is a fleet API over url with canteens A (徐汇区) and B
// (闵行区), a regulator of each district, an operator of A and a parent
// of A, and an easy proof of work (8 bits).
type complaintWorld struct {
	st     *dbtest.DB
	api    *Server
	srv    *httptest.Server
	tokens map[string]string
}

func newComplaintWorld(t *testing.T, url string) *complaintWorld {
	t.Helper()
	st := dbtest.Of(storetest.Open(t, url))
	for _, c := range []registry.Canteen{
		{ID: "A", Name: "徐汇一小", Category: registry.CategorySchool, District: "徐汇区", Active: true},
		{ID: "B", Name: "闵行二小", Category: registry.CategorySchool, District: "闵行区", Active: true},
	} {
		if _, err := st.PutCanteen(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	w := &complaintWorld{st: st, tokens: map[string]string{"admin": "secret"}}
	for name, tok := range map[string]auth.Token{
		"regXH":     {Role: auth.RoleRegulator, Districts: []string{"徐汇区"}},
		"regMH":     {Role: auth.RoleRegulator, Districts: []string{"闵行区"}},
		"operatorA": {Role: auth.RoleOperator, Canteens: []string{"A"}},
		"parentA":   {Role: auth.RoleParent, Canteens: []string{"A"}},
	} {
		secret, _, err := st.AddToken(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[name] = secret
	}
	s := &Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret",
		Complaints: st.Complaints, ComplaintBits: 8}
	w.api, w.srv = s, httptest.NewServer(s.Handler())
	t.Cleanup(w.srv.Close)
	return w
}

// challenge asks for a challenge for canteen and solves it.
func (w *complaintWorld) challenge(t *testing.T, canteen string) (token, nonce string) {
	t.Helper()
	status, body := doCT(t, "POST", w.srv.URL+"/api/v1/complaints/challenge?canteen="+canteen, "", "", "")
	if status != 200 {
		t.Fatalf("challenge: %d %s", status, body)
	}
	var r struct{ Challenge complaints.Challenge }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	nonce = complaints.Solve(r.Challenge.Token, r.Challenge.Bits, 1<<20)
	if nonce == "" {
		t.Fatal("no nonce found")
	}
	return r.Challenge.Token, nonce
}

// form is a complaint's multipart body.
func form(t *testing.T, fields map[string]string, photo []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", "photo.jpg")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(photo)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func (w *complaintWorld) file(t *testing.T, fields map[string]string, photo []byte) (int, string) {
	t.Helper()
	ct, body := form(t, fields, photo)
	return doCT(t, "POST", w.srv.URL+"/api/v1/complaints", "", ct, string(body))
}

func (w *complaintWorld) count(t *testing.T) (tickets, challenges int) {
	t.Helper()
	for table, n := range map[string]*int{"complaints": &tickets, "complaint_challenges": &challenges} {
		if err := w.st.Write().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(n); err != nil {
			t.Fatal(err)
		}
	}
	return
}

func testJPEG(t *testing.T, wd, ht int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, wd, ht))
	for y := range ht {
		for x := range wd {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestComplaintAPI: a complaint filed with no login reaches 徐汇区's
// regulator and not 闵行区's; the operator of the canteen reads it
// without the contact and adds its account; the regulator accepts and
// replies, each step audited; the code's holder reads the reply; the
// photo comes back re-encoded, without its metadata.
func TestComplaintAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		w := newComplaintWorld(t, url)
		tok, nonce := w.challenge(t, "A")
		// A JPEG with a comment (metadata) that re-encoding drops.
		photo := testJPEG(t, 64, 48)
		photo = append(photo[:2:2], append([]byte{0xff, 0xfe, 0, 13, 'G', 'P', 'S', ' ', 's', 'e', 'c', 'r', 'e', 't', '!'}, photo[2:]...)...)
		status, body := w.file(t, map[string]string{"canteen": "A", "category": "hygiene", "text": "后厨地面有积水，苍蝇很多",
			"contact": "13800000000", "camera": "gw-A:cam-1", "at": "2026-03-02T11:30:00+08:00", "challenge": tok, "nonce": nonce}, photo)
		if status != 201 {
			t.Fatalf("file: %d %s", status, body)
		}
		var filed struct {
			Code  string `json:"code"`
			State string `json:"state"`
		}
		json.Unmarshal([]byte(body), &filed)
		if filed.State != "received" || len(filed.Code) != 14 {
			t.Fatalf("filed: %s", body)
		}

		list := func(who string) []complaints.Complaint {
			t.Helper()
			status, body := w.req(t, who, "GET", "/api/v1/complaints", "")
			var r struct{ Complaints []complaints.Complaint }
			if status != 200 || json.Unmarshal([]byte(body), &r) != nil {
				t.Fatalf("%s: list %d %s", who, status, body)
			}
			return r.Complaints
		}
		xh := list("regXH")
		if len(xh) != 1 || xh[0].Contact != "13800000000" || xh[0].Camera != "gw-A:cam-1" || xh[0].ConcernsAt.IsZero() {
			t.Fatalf("徐汇区's regulator sees %+v", xh)
		}
		id := fmt.Sprint(xh[0].ID)
		if mh := list("regMH"); len(mh) != 0 {
			t.Errorf("闵行区's regulator sees %+v", mh)
		}
		if status, _ := w.req(t, "regMH", "GET", "/api/v1/complaints/"+id, ""); status != 403 {
			t.Errorf("闵行区's regulator gets the ticket: %d", status)
		}
		if status, _ := w.req(t, "regMH", "POST", "/api/v1/complaints/"+id+"/accept", "{}"); status != 403 {
			t.Errorf("闵行区's regulator accepts the ticket: %d", status)
		}
		if op := list("operatorA"); len(op) != 1 || op[0].Contact != "" {
			t.Errorf("the operator sees %+v (want the ticket, without the contact)", op)
		}
		if status, body := w.req(t, "operatorA", "POST", "/api/v1/complaints/"+id+"/reply", `{"note":"x"}`); status != 403 {
			t.Errorf("the operator replies: %d %s", status, body)
		}
		if status, body := w.req(t, "parentA", "GET", "/api/v1/complaints", ""); status != 403 {
			t.Errorf("a parent lists complaints: %d %s", status, body)
		}
		if status, body := w.req(t, "operatorA", "POST", "/api/v1/complaints/"+id+"/account", `{"text":"已清理"}`); status != 200 || strings.Contains(body, "13800000000") {
			t.Errorf("operator's account: %d %s", status, body)
		}
		if status, body := w.req(t, "regXH", "POST", "/api/v1/complaints/"+id+"/reply", `{"note":"x"}`); status != 409 || !strings.Contains(body, "wrong_state") {
			t.Errorf("reply before accept: %d %s", status, body)
		}
		for _, step := range []struct{ action, body string }{{"accept", `{}`}, {"reply", `{"note":"经核查属实，已责令整改并复查。"}`}} {
			if status, body := w.req(t, "regXH", "POST", "/api/v1/complaints/"+id+"/"+step.action, step.body); status != 200 {
				t.Fatalf("%s: %d %s", step.action, status, body)
			}
		}
		entries, err := w.st.AuditLog(t.Context(), auth.AuditFilter{CanteenID: "A"})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range entries {
			acts = append(acts, e.Action+"/"+e.Actor)
		}
		for _, want := range []string{"complaint_file/anonymous", "complaint_account/token:", "complaint_accept/token:", "complaint_reply/token:"} {
			if !strings.Contains(strings.Join(acts, " "), want) {
				t.Errorf("audit %v: no %s", acts, want)
			}
		}

		// The code's holder, typing it in lower case.
		status, body = doCT(t, "POST", w.srv.URL+"/api/v1/complaints/lookup", "", "application/json",
			`{"code":"`+strings.ToLower(filed.Code)+`"}`)
		if status != 200 || !strings.Contains(body, "经核查属实") || !strings.Contains(body, `"state":"replied"`) || strings.Contains(body, "13800000000") {
			t.Errorf("lookup: %d %s", status, body)
		}
		if status, _ := doCT(t, "POST", w.srv.URL+"/api/v1/complaints/lookup", "", "application/json", `{"code":"AAAA-BBBB-CCCC"}`); status != 404 {
			t.Errorf("unknown code: %d", status)
		}

		// The photo: a JPEG still, of the same size, without the comment.
		resp, err := http.DefaultClient.Do(authReq(t, w.srv.URL+"/api/v1/complaints/"+id+"/photo", w.tokens["regXH"]))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cfg, format, err := image.DecodeConfig(bytes.NewReader(got))
		if err != nil || format != "jpeg" || cfg.Width != 64 || cfg.Height != 48 || bytes.Contains(got, []byte("GPS secret")) {
			t.Errorf("photo: %s %dx%d %v; metadata kept: %v", format, cfg.Width, cfg.Height, err, bytes.Contains(got, []byte("GPS secret")))
		}

		// A parent of A files through the parents' view: the ticket says
		// who, to the regulator only.
		tok, nonce = w.challenge(t, "A")
		ct, pbody := form(t, map[string]string{"canteen": "A", "category": "quality", "text": "孩子说今天的菜是馊的",
			"challenge": tok, "nonce": nonce}, nil)
		if status, body := doCT(t, "POST", w.srv.URL+"/api/v1/complaints", w.tokens["parentA"], ct, string(pbody)); status != 201 {
			t.Fatalf("parent files: %d %s", status, body)
		}
		if got := list("regXH"); len(got) != 2 || !strings.HasPrefix(got[0].FiledBy, "token:") {
			t.Errorf("the parent's ticket, as the regulator sees it: %+v", got[0])
		}
		if got := list("operatorA"); len(got) != 2 || got[0].FiledBy != "" {
			t.Errorf("the parent's ticket, as the operator sees it: filed by %q", got[0].FiledBy)
		}

		// The poster's QR code: a PNG, for the operator of A only.
		resp, err = http.DefaultClient.Do(authReq(t, w.srv.URL+"/api/v1/canteens/A/complaint-qr.png", w.tokens["operatorA"]))
		if err != nil {
			t.Fatal(err)
		}
		qr, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := png.Decode(bytes.NewReader(qr)); resp.StatusCode != 200 || err != nil {
			t.Errorf("QR: %d %v", resp.StatusCode, err)
		}
		// It encodes the form's address (the encoder is deterministic).
		if want, _ := qrcode.Encode(w.srv.URL+"/complain?canteen=A", qrcode.Medium, 512); !bytes.Equal(qr, want) {
			t.Errorf("the QR code does not encode %s/complain?canteen=A", w.srv.URL)
		}
		if status, _ := w.req(t, "operatorA", "GET", "/api/v1/canteens/B/complaint-qr.png", ""); status != 403 {
			t.Errorf("QR of another canteen: %d", status)
		}

		// A year and a day after the reply, retention deletes the photo:
		// the ticket says so and the photo is 410 expired.
		if n, err := w.st.Retain(t.Context(), retention.Default(), time.Now().Add(366*retention.Day)); err != nil || n[retention.RetainedComplaintPhotos] != 1 {
			t.Fatalf("retain: %v, %v", n, err)
		}
		for _, c := range []struct {
			path, contains string
			status         int
		}{
			{"/api/v1/complaints/" + id + "/photo", `"code":"expired"`, 410},
			{"/api/v1/complaints/" + id, `"photo_expired":true`, 200},
			{"/api/v1/complaints/" + id, `"has_photo":false`, 200},
		} {
			if status, body := w.req(t, "regXH", "GET", c.path, ""); status != c.status || !strings.Contains(body, c.contains) {
				t.Errorf("after retention, GET %s: %d %.300s; want %d with %s", c.path, status, body, c.status, c.contains)
			}
		}
	})
}

func authReq(t *testing.T, url, token string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func (w *complaintWorld) req(t *testing.T, who, method, path, body string) (int, string) {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return doCT(t, method, w.srv.URL+path, w.tokens[who], ct, body)
}

// TestComplaintBadInput: oversized and malformed complaints, photo bombs,
// a replayed challenge, a forged or foreign one and a flood from one
// address are each refused with a clear error, and none leaves a ticket
// or spends a challenge.
func TestComplaintBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		w := newComplaintWorld(t, url)
		ok := func(tok, nonce string) map[string]string {
			return map[string]string{"canteen": "A", "category": "pests", "text": "厨房里看见老鼠", "challenge": tok, "nonce": nonce}
		}
		with := func(m map[string]string, k, v string) map[string]string { m[k] = v; return m }
		cases := []struct {
			name   string
			send   func(tok, nonce string) (int, string)
			status int
			code   string
		}{
			{"not multipart", func(tok, nonce string) (int, string) {
				return doCT(t, "POST", w.srv.URL+"/api/v1/complaints", "", "application/json", `{"text":"x"}`)
			}, 415, "unsupported_media_type"},
			{"garbled multipart", func(tok, nonce string) (int, string) {
				return doCT(t, "POST", w.srv.URL+"/api/v1/complaints", "", "multipart/form-data; boundary=zz", "--zz\r\nnonsense")
			}, 400, "bad_request"},
			{"unknown field", func(tok, nonce string) (int, string) { return w.file(t, with(ok(tok, nonce), "evil", "1"), nil) }, 400, "bad_request"},
			{"text over the field cap", func(tok, nonce string) (int, string) {
				return w.file(t, with(ok(tok, nonce), "text", strings.Repeat("x", complaints.MaxText*4+65)), nil)
			}, 413, "too_large"},
			{"text too long", func(tok, nonce string) (int, string) {
				return w.file(t, with(ok(tok, nonce), "text", strings.Repeat("脏", complaints.MaxText+1)), nil)
			}, 400, "bad_request"},
			{"no category", func(tok, nonce string) (int, string) {
				return w.file(t, with(ok(tok, nonce), "category", "bribe"), nil)
			}, 400, "bad_request"},
			{"bad time", func(tok, nonce string) (int, string) { return w.file(t, with(ok(tok, nonce), "at", "yesterday"), nil) }, 400, "bad_request"},
			{"body over the cap", func(tok, nonce string) (int, string) {
				return w.file(t, ok(tok, nonce), bytes.Repeat([]byte{0xff}, complaints.MaxPhoto+1))
			}, 413, "too_large"},
			{"png bomb", func(tok, nonce string) (int, string) { return w.file(t, ok(tok, nonce), pngBomb(60000, 60000)) }, 413, "too_large"},
			{"jpeg bomb", func(tok, nonce string) (int, string) { return w.file(t, ok(tok, nonce), jpegBomb(65000, 65000)) }, 413, "too_large"},
			{"5000×5000 photo", func(tok, nonce string) (int, string) { return w.file(t, ok(tok, nonce), pngBomb(5000, 5000)) }, 413, "too_large"},
			{"not an image", func(tok, nonce string) (int, string) { return w.file(t, ok(tok, nonce), []byte("GIF89a not really")) }, 415, "unsupported_media_type"},
			{"truncated jpeg", func(tok, nonce string) (int, string) {
				return w.file(t, ok(tok, nonce), testJPEG(t, 64, 48)[:300])
			}, 415, "unsupported_media_type"},
			{"wrong nonce", func(tok, nonce string) (int, string) { return w.file(t, ok(tok, "x"+nonce+"x"), nil) }, 400, "bad_challenge"},
			{"forged challenge", func(tok, nonce string) (int, string) {
				return w.file(t, ok(strings.Replace(tok, ".8.", ".1.", 1), nonce), nil)
			}, 400, "bad_challenge"},
			{"challenge of another canteen", func(tok, nonce string) (int, string) {
				return w.file(t, with(ok(tok, nonce), "canteen", "B"), nil)
			}, 400, "bad_challenge"},
			{"cross-origin", func(tok, nonce string) (int, string) {
				ct, body := form(t, ok(tok, nonce), nil)
				req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/complaints", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				req.Header.Set("Origin", "https://evil.example")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}, 403, "cross_origin"},
		}
		for _, tc := range cases {
			tok, nonce := w.challenge(t, "A")
			status, body := tc.send(tok, nonce)
			if status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("%s: %d %.300s; want %d %s", tc.name, status, body, tc.status, tc.code)
			}
			if tickets, spent := w.count(t); tickets != 0 || spent != 0 {
				t.Errorf("%s: %d tickets, %d challenges spent; want none", tc.name, tickets, spent)
			}
		}

		// The windows start over (the cases above filled the one on posts).
		w.api.complaintWin = addrWindow{}

		// Replay: the same challenge twice.
		tok, nonce := w.challenge(t, "A")
		if status, body := w.file(t, ok(tok, nonce), nil); status != 201 {
			t.Fatalf("first: %d %s", status, body)
		}
		if status, body := w.file(t, ok(tok, nonce), nil); status != 409 || !strings.Contains(body, "challenge_used") {
			t.Errorf("replay: %d %s", status, body)
		}
		if tickets, _ := w.count(t); tickets != 1 {
			t.Errorf("after a replay: %d tickets, want 1", tickets)
		}

		// A flood from one address: the database's cap (5 an hour) first…
		for i := 1; i < 5; i++ {
			tok, nonce := w.challenge(t, "A")
			if status, body := w.file(t, ok(tok, nonce), nil); status != 201 {
				t.Fatalf("complaint %d: %d %s", i+1, status, body)
			}
		}
		tok, nonce = w.challenge(t, "A")
		if status, body := w.file(t, ok(tok, nonce), nil); status != 429 || !strings.Contains(body, "in the last hour") {
			t.Errorf("6th complaint in an hour: %d %s", status, body)
		}
		if tickets, _ := w.count(t); tickets != 5 {
			t.Errorf("after the flood: %d tickets, want 5", tickets)
		}
		// …then the window on challenges (30 in 10 minutes): 7 so far.
		var last int
		for range 30 {
			status, _ := doCT(t, "POST", w.srv.URL+"/api/v1/complaints/challenge?canteen=A", "", "", "")
			if last = status; status == 429 {
				break
			}
		}
		if last != 429 {
			t.Errorf("challenges beyond the window: %d, want 429", last)
		}
		// Unknown and inactive canteens get no challenge.
		if status, _ := doCT(t, "POST", w.srv.URL+"/api/v1/complaints/challenge?canteen=nope", "", "", ""); status != 404 && status != 429 {
			t.Errorf("challenge for an unknown canteen: %d", status)
		}
	})
}

// FuzzComplaintForm: the complaint decoder never panics, never keeps
// more than its limits, and what it accepts turns into a complaint or a
// clear error.
func FuzzComplaintForm(f *testing.F) {
	for _, seed := range []string{
		"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"at\"\r\n\r\n2026-03-02T10:00:00Z\r\n--b\r\nContent-Disposition: form-data; name=\"at\"\r\n\r\nx\r\n--b--\r\n",
		"--b\r\n\r\n--b--",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := decodeComplaint(bytes.NewReader(body), "b")
		if err != nil {
			return
		}
		for k, v := range form.Fields {
			if limit, ok := complaintFields[k]; !ok || len(v) > limit {
				t.Fatalf("field %q (%d bytes) kept", k, len(v))
			}
		}
		if len(form.Photo) > complaints.MaxPhoto {
			t.Fatalf("photo of %d bytes kept", len(form.Photo))
		}
		n, err := form.newComplaint()
		if err == nil {
			_ = n.Check()
		}
		if len(form.Photo) > 0 {
			_, _, _ = cleanPhoto(form.Photo)
		}
	})
}
