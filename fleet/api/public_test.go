package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

// eachWorld runs f on a world over SQLite and, where configured,
// PostgreSQL.
func eachWorld(t *testing.T, f func(t *testing.T, w *world)) {
	storetest.Each(t, func(t *testing.T, u string) {
		f(t, newWorldOn(t, dbtest.Of(storetest.Open(t, u))))
	})
}

// refusedCount is bk_fleet_public_views_refused_total{reason}.
func refusedCount(t *testing.T, s *Server, reason string) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.PublicCollectors()[2].(*prometheus.CounterVec).WithLabelValues(reason).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestCameraAudienceAPI: the canteen's operator (or an admin) sets a
// camera's audience; public stays true for parents and everyone; public
// alone keeps a published camera published and false makes it private;
// others are refused; the camera list shows the audience.
func TestCameraAudienceAPI(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		put := func(who, camera, body string) (int, string) {
			return w.req(t, who, "PUT", "/api/v1/cameras/"+camera, "application/json", []byte(body))
		}
		audience := func(camera string) (string, bool) {
			h, err := w.st.CameraHome(context.Background(), camera)
			if err != nil {
				t.Fatal(err)
			}
			return h.Audience(), h.Public
		}
		for _, c := range []struct {
			who, camera, body string
			status            int
			audience          string
			public            bool
		}{
			{"operatorA", "gw-A:pub-A", `{"audience":"everyone"}`, 200, "everyone", true},
			{"operatorA", "gw-A:pub-A", `{"public":true,"area":"cooking"}`, 200, "everyone", true},
			{"operatorA", "gw-A:pub-A", `{"public":false}`, 200, "private", false},
			{"operatorA", "gw-A:pub-A", `{"audience":"everyone","public":false}`, 200, "everyone", true},
			{"operatorA", "gw-A:pub-A", `{"audience":"parents"}`, 200, "parents", true},
			{"operatorA", "gw-A:pub-A", `{"audience":"world"}`, 400, "parents", true},
			{"operatorA", "gw-B:pub-B", `{"audience":"everyone"}`, 403, "", false},
			{"parentA", "gw-A:pub-A", `{"audience":"everyone"}`, 403, "parents", true},
			{"regulator", "gw-A:pub-A", `{"audience":"everyone"}`, 403, "parents", true},
			{"admin", "gw-B:pub-B", `{"audience":"everyone"}`, 200, "everyone", true},
		} {
			status, body := put(c.who, c.camera, c.body)
			if status != c.status {
				t.Errorf("%s PUT %s %s: %d %s, want %d", c.who, c.camera, c.body, status, body, c.status)
				continue
			}
			if c.audience == "" {
				continue
			}
			if aud, pub := audience(c.camera); aud != c.audience || pub != c.public {
				t.Errorf("%s PUT %s %s: audience %s public %v, want %s %v", c.who, c.camera, c.body, aud, pub, c.audience, c.public)
			}
			if status == 200 && !strings.Contains(body, `"audience":"`+c.audience+`"`) {
				t.Errorf("%s PUT %s %s: answer %s", c.who, c.camera, c.body, body)
			}
		}
		status, body := w.req(t, "operatorA", "GET", "/api/v1/canteens/A/cameras", "", nil)
		if status != 200 || !strings.Contains(body, `"audience":"parents"`) || !strings.Contains(body, `"audience":"private"`) {
			t.Errorf("camera list: %d %s", status, body)
		}
	})
}

// TestPublicityAPI: who may change which part of the notice (the
// operator the licence and person in charge, the district's regulator
// the grade and inspection, the admin all), bad values refused naming the
// field, nothing half-stored, every change audited.
func TestPublicityAPI(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		put := func(who, canteen, body string) (int, string) {
			return w.req(t, who, "PUT", "/api/v1/canteens/"+canteen+"/publicity", "application/json", []byte(body))
		}
		for _, c := range []struct {
			who, canteen, body string
			status             int
			says               string
		}{
			{"operatorA", "A", `{"licence_no":"JY13101040001234","person_in_charge":"张经理"}`, 200, `"licence_no":"JY13101040001234"`},
			{"operatorA", "A", `{"grade":"A"}`, 403, "grade: role operator may not change it"},
			{"operatorA", "A", `{"person_in_charge":"李","inspection_result":"compliant","inspected_on":"2026-01-02"}`, 403, "inspection_result"},
			{"operatorA", "B", `{"licence_no":"JY13101040001234"}`, 403, "forbidden"},
			{"regulator", "A", `{"grade":"B","inspection_result":"basically_compliant","inspected_on":"2026-01-02"}`, 200, `"grade":"B"`},
			{"regulator", "A", `{"licence_no":"JY13101040009999"}`, 403, "licence_no"},
			{"regulator", "B", `{"grade":"A"}`, 403, "forbidden"},
			{"regulator", "A", `{"grade":"S"}`, 400, "grade"},
			{"regulator", "A", `{"inspected_on":"2999-01-01","inspection_result":"compliant"}`, 400, "after today"},
			{"regulator", "A", `{}`, 400, "no field"},
			{"regulator", "A", `{"grade":"A","extra":1}`, 400, "unknown field"},
			{"parentA", "A", `{"grade":"A"}`, 403, "may not do this"},
			{"admin", "B", `{"grade":"C","licence_no":"JY23101040001234"}`, 200, `"grade":"C"`},
			{"", "A", `{"grade":"A"}`, 401, "unauthenticated"},
		} {
			status, body := put(c.who, c.canteen, c.body)
			if status != c.status || !strings.Contains(body, c.says) {
				t.Errorf("%s PUT %s %s: %d %s; want %d %q", c.who, c.canteen, c.body, status, body, c.status, c.says)
			}
		}
		status, body := w.req(t, "parentA", "GET", "/api/v1/canteens/A/publicity", "", nil)
		var v publicityView
		if status != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Grade != "B" || v.LicenceNo != "JY13101040001234" ||
			v.PersonInCharge != "张经理" || v.InspectionResult != registry.InspectionBasically || len(v.Editable) != 0 {
			t.Errorf("parent reads A's notice: %d %s", status, body)
		}
		status, body = w.req(t, "regulator", "GET", "/api/v1/canteens/A/publicity", "", nil)
		if status != 200 || !strings.Contains(body, `"editable":["grade","inspection_result","inspected_on"]`) ||
			!strings.Contains(body, `"regulator_by":"token:`) {
			t.Errorf("regulator reads A's notice: %d %s", status, body)
		}
		es, err := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "publicity_set"})
		if err != nil || len(es) != 3 {
			t.Fatalf("audit: %+v, %v; want the 3 changes", es, err)
		}
		if !strings.Contains(es[len(es)-1].Detail, `licence_no="JY13101040001234"`) {
			t.Errorf("audit detail %q", es[len(es)-1].Detail)
		}
	})
}

// TestAnonymousLiveView: with no credentials, only a camera published to
// everyone, of an active canteen, inside its window, gets past the check
// (then 502 start_failed here: no gateway); everything else is refused as before
// (401, or 403 outside_window for a published camera outside its
// window). Refusals are counted, not audited; bad credentials are judged
// as such. The table is requests, so that other live endpoints (HLS) can
// join it.
func TestAnonymousLiveView(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		for _, cam := range []string{"gw-A:pub-A", "gw-C:pub-C", "gw-B:pub-B"} {
			if err := w.st.SetCameraAudience(ctx, cam, "cooking", registry.AudienceEveryone); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.st.PutCanteen(ctx, registry.Canteen{ID: "B", Name: "School B", Category: registry.CategorySchool,
			District: "minhang", Active: false, Viewing: coverage.EveryDay("00:00-24:00")}); err != nil {
			t.Fatal(err)
		}
		offer := []byte(rtctest.OfferMinimal)
		for _, c := range []struct {
			name, method, path, token string
			body                      []byte
			status                    int
			code                      string
		}{
			{"published, open (no gateway here)", "POST", "/whep/gw-A:pub-A", "", offer, 502, "start_failed"},
			{"published, camera info", "GET", "/api/v1/cameras/gw-A:pub-A", "", nil, 200, ""},
			{"parents only", "POST", "/whep/gw-A:priv-A", "", offer, 401, "unauthenticated"},
			{"private camera info", "GET", "/api/v1/cameras/gw-A:priv-A", "", nil, 401, "unauthenticated"},
			{"published, outside the window", "POST", "/whep/gw-C:pub-C", "", offer, 403, "outside_window"},
			{"published, inactive canteen", "POST", "/whep/gw-B:pub-B", "", offer, 401, "unauthenticated"},
			{"unknown camera", "POST", "/whep/gw-A:nope", "", offer, 401, "unauthenticated"},
			{"bad token", "POST", "/whep/gw-A:pub-A", "bk_nope", offer, 401, "unauthenticated"},
			{"delete someone's session", "DELETE", "/whep/gw-A:pub-A/NOSUCHSESSION", "", nil, 404, ""},
		} {
			status, body := doCT(t, c.method, w.srv.URL+c.path, c.token, "application/sdp", string(c.body))
			if status != c.status || (c.code != "" && !strings.Contains(body, `"code":"`+c.code+`"`)) {
				t.Errorf("%s: %s %s: %d %s; want %d %s", c.name, c.method, c.path, status, body, c.status, c.code)
			}
		}
		if n := refusedCount(t, w.api, "not_published"); n != 3 {
			t.Errorf("refused not_published = %v, want 3", n)
		}
		if n := refusedCount(t, w.api, "outside_window"); n != 1 {
			t.Errorf("refused outside_window = %v, want 1", n)
		}
		es, err := w.st.AuditLog(ctx, auth.AuditFilter{Action: "live_view"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Actor == "anonymous" || e.Role == RoleAnonymous {
				t.Errorf("anonymous refusal audited: %+v", e)
			}
		}
	})
}

// TestPublicCapAndLimiter: anonymous views of a canteen are capped
// (429 public_cap) and freed when a view ends; requests from one address
// are limited per minute (429 rate_limited with Retry-After), and the
// window slides; the staff's camera list counts the anonymous viewers.
func TestPublicCapAndLimiter(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		if err := w.st.SetCameraAudience(ctx, "gw-A:pub-A", "cooking", registry.AudienceEveryone); err != nil {
			t.Fatal(err)
		}
		w.api.MaxPublicViewers, w.api.PublicViewsPerMinute = 2, 4
		for range 2 {
			if !w.api.public.reserve("A", "gw-A:pub-A", 2) {
				t.Fatal("could not take a place")
			}
		}
		offer := rtctest.OfferMinimal
		status, body := doCT(t, "POST", w.srv.URL+"/whep/gw-A:pub-A", "", "application/sdp", offer)
		if status != 429 || !strings.Contains(body, "public_cap") {
			t.Fatalf("third visitor: %d %s; want 429 public_cap", status, body)
		}
		status, body = w.req(t, "operatorA", "GET", "/api/v1/canteens/A/cameras", "", nil)
		if status != 200 || !strings.Contains(body, `"public_viewers":2`) {
			t.Errorf("operator's camera list: %d %s; want public_viewers 2", status, body)
		}
		w.api.ViewerEnded(live.Viewer{Principal: "anonymous", Role: RoleAnonymous, CanteenID: "A", Login: "anonymous"}, "gw-A:pub-A",
			time.Now().Add(-time.Minute), time.Now())
		status, body = doCT(t, "POST", w.srv.URL+"/whep/gw-A:pub-A", "", "application/sdp", offer)
		if status == 429 || status == 401 || status == 403 {
			t.Fatalf("a freed place: %d %s", status, body)
		}
		// Two requests so far from this address; the limit is 4.
		doCT(t, "POST", w.srv.URL+"/whep/gw-A:priv-A", "", "application/sdp", offer)
		doCT(t, "POST", w.srv.URL+"/whep/gw-A:priv-A", "", "application/sdp", offer)
		req, _ := http.NewRequest("POST", w.srv.URL+"/whep/gw-A:pub-A", strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("fifth request in a minute: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// Staff are not limited by it.
		if status, body := w.req(t, "operatorA", "POST", "/whep/gw-A:pub-A", "application/sdp", []byte(offer)); status == 429 {
			t.Errorf("operator limited: %d %s", status, body)
		}
		if n := refusedCount(t, w.api, "rate_limited"); n != 1 {
			t.Errorf("refused rate_limited = %v, want 1", n)
		}
		if n := refusedCount(t, w.api, "public_cap"); n != 1 {
			t.Errorf("refused public_cap = %v, want 1", n)
		}
	})
}

// TestPublicLimiterWindow: the per-address window slides, addresses are
// apart, and the table of addresses stays bounded.
func TestPublicLimiterWindow(t *testing.T) {
	var pv publicViewers
	t0 := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, ok := pv.allow(t0.Add(time.Duration(i)*10*time.Second), "1.2.3.4", 3); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	retry, ok := pv.allow(t0.Add(30*time.Second), "1.2.3.4", 3)
	if ok || retry != 30*time.Second {
		t.Fatalf("fourth in the minute: ok %v retry %v; want refused, retry 30s", ok, retry)
	}
	if _, ok := pv.allow(t0.Add(30*time.Second), "5.6.7.8", 3); !ok {
		t.Fatal("another address refused")
	}
	if _, ok := pv.allow(t0.Add(61*time.Second), "1.2.3.4", 3); !ok {
		t.Fatal("the window did not slide")
	}
	for i := range maxLimiterKeys + 10 {
		pv.allow(t0.Add(2*time.Minute), "a"+strconv.Itoa(i), 3)
	}
	if n := len(pv.starts); n > maxLimiterKeys+1 {
		t.Errorf("%d addresses kept, bound %d", n, maxLimiterKeys)
	}
	pv.allow(t0.Add(4*time.Minute), "fresh", 3)
	if n := len(pv.starts); n > 2 {
		t.Errorf("after the window: %d addresses kept, want the stale swept", n)
	}
}

// TestAnonymousViewsEnd: the periodic recheck ends anonymous views when
// the camera is unpublished, the canteen made inactive or its window
// closed, and keeps them otherwise.
func TestAnonymousViewsEnd(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		fv := &fakeViews{}
		w.api.viewsHook = fv.end
		publish := func(aud string) {
			if err := w.st.SetCameraAudience(ctx, "gw-A:pub-A", "cooking", aud); err != nil {
				t.Fatal(err)
			}
		}
		watch := func(id string) {
			fv.ss = append(fv.ss, live.ViewerSession{ID: id, Camera: "gw-A:pub-A",
				Viewer: live.Viewer{Principal: "anonymous", Role: RoleAnonymous, CanteenID: "A", Login: "anonymous"}})
		}
		publish(registry.AudienceEveryone)
		watch("v1")
		if n := w.api.RecheckViewers(ctx); n != 0 {
			t.Fatalf("recheck ended %d views with nothing changed", n)
		}
		publish(registry.AudienceParents)
		if n := w.api.RecheckViewers(ctx); n != 1 || len(fv.left()) != 0 {
			t.Fatalf("unpublished: ended %d, left %v", n, fv.left())
		}
		publish(registry.AudienceEveryone)
		watch("v2")
		c, err := w.st.Canteen(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		c.Active = false
		if _, err := w.st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
		if n := w.api.RecheckViewers(ctx); n != 1 {
			t.Fatalf("inactive canteen: ended %d", n)
		}
		c.Active = true
		if _, err := w.st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
		watch("v3")
		if err := w.st.SetViewing(ctx, "A", coverage.Week{}, 0); err != nil {
			t.Fatal(err)
		}
		if n := w.api.RecheckViewers(ctx); n != 1 || len(fv.left()) != 0 {
			t.Fatalf("window closed: ended %d, left %v", n, fv.left())
		}
	})
}

// TestKitchenPages: /kitchens lists the participating canteens only,
// filters and pages them, escapes what canteens typed; /kitchens/{id}
// shows the notice and, inside the window, a player per published camera
// (with the script and its CSP), outside it the next opening and no
// player; a canteen that does not take part is 404. No login anywhere.
func TestKitchenPages(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		for _, cam := range []string{"gw-A:pub-A", "gw-C:pub-C"} {
			if err := w.st.SetCameraAudience(ctx, cam, "cooking", registry.AudienceEveryone); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := w.st.Canteen(ctx, "C")
		// C opens for an hour three days from today, in its time zone: closed
		// now, whatever the day and hour the test runs (a fixed Monday
		// 11:00-12:00 failed on Mondays at 11).
		loc, err := time.LoadLocation(c.TZ)
		if err != nil {
			t.Fatal(err)
		}
		var viewing coverage.Week
		viewing[(time.Now().In(loc).Weekday()+3)%7] = []string{"11:00-12:00"}
		c.Name, c.Viewing = `<script>alert(1)</script>食堂`, viewing
		if _, err := w.st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := w.st.SetPublicity(ctx, "A", registry.PublicityPatch{Grade: strp("A"), InspectionResult: strp("compliant"),
			InspectedOn: strp("2026-01-02"), LicenceNo: strp("JY13101040001234"), PersonInCharge: strp("张经理")}, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		get := func(path string) (int, http.Header, string) {
			t.Helper()
			resp, err := http.Get(w.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			return resp.StatusCode, resp.Header, b.String()
		}
		status, h, body := get("/kitchens")
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, `data-canteen="A"`) ||
			!strings.Contains(body, `data-canteen="C"`) || strings.Contains(body, `data-canteen="B"`) || !strings.Contains(body, `data-total="2"`) {
			t.Fatalf("/kitchens: %d %s", status, body)
		}
		if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;食堂") {
			t.Errorf("a canteen's name not escaped")
		}
		if !strings.Contains(body, "A 级（优秀）") || !strings.Contains(body, "现在开放观看") || !strings.Contains(body, "下次开放") {
			t.Errorf("/kitchens summaries: %s", body)
		}
		for _, c := range []struct{ query, want, not string }{
			{"?district=minhang", `data-total="0"`, `data-canteen="A"`},
			{"?district=xuhui&category=school", `data-total="2"`, ""},
			{"?category=hospital", `data-total="0"`, `data-canteen="A"`},
			{"?category=nonsense", `data-total="2"`, ""},
			{"?q=School%20A", `data-total="1"`, `data-canteen="C"`},
			{"?page=2", `data-total="2"`, `data-canteen="A"`},
			{"?page=-1", `data-canteen="A"`, ""},
			{"?lang=en", "Open to watch now", "现在开放观看"},
		} {
			if status, _, body := get("/kitchens" + c.query); status != 200 || !strings.Contains(body, c.want) || (c.not != "" && strings.Contains(body, c.not)) {
				t.Errorf("/kitchens%s: %d; want %q and not %q in %s", c.query, status, c.want, c.not, body)
			}
		}

		status, h, body = get("/kitchens/A")
		if status != 200 {
			t.Fatalf("/kitchens/A: %d %s", status, body)
		}
		for _, want := range []string{"JY13101040001234", "张经理", "A 级（优秀）", "符合 · 2026-01-02", `data-camera="gw-A:pub-A"`,
			"<video", "/static/kitchen.js", `href="/complain?canteen=A"`, `type="importmap"`} {
			if !strings.Contains(body, want) {
				t.Errorf("/kitchens/A lacks %q", want)
			}
		}
		if strings.Contains(body, "priv-A") {
			t.Errorf("/kitchens/A shows the private camera")
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "'sha256-") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("/kitchens/A CSP %q", csp)
		}
		status, _, body = get("/kitchens/C?lang=en")
		if status != 200 || strings.Contains(body, "<video") || strings.Contains(body, "kitchen.js") ||
			!strings.Contains(body, `id="closed"`) || !strings.Contains(body, "next opening at") {
			t.Errorf("/kitchens/C outside its window: %d %s", status, body)
		}
		for _, id := range []string{"B", "nope", "%3Cx%3E"} {
			if status, _, _ := get("/kitchens/" + id); status != 404 {
				t.Errorf("/kitchens/%s: %d, want 404", id, status)
			}
		}
	})
}

func strp(s string) *string { return &s }
