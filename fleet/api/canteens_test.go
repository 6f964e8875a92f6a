package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// registryServer is a server whose store holds canteens A and B, with a
// regulator token and an operator token bound to A.
func registryServer(t *testing.T) (srv *httptest.Server, st *dbtest.DB, regulator, operatorA string) {
	t.Helper()
	ctx := context.Background()
	st = dbtest.Fresh(t)
	var err error
	for _, c := range []registry.Canteen{
		{ID: "A", Name: "School A", Category: registry.CategorySchool, District: "xuhui", Active: true},
		{ID: "B", Name: "Hospital B", Category: registry.CategoryHospital, District: "minhang", Active: true},
	} {
		if _, err := st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if regulator, _, err = st.AddToken(ctx, auth.Token{Role: auth.RoleRegulator, Districts: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if operatorA, _, err = st.AddToken(ctx, auth.Token{Role: auth.RoleOperator, Canteens: []string{"A"}}); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer((&Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret"}).Handler())
	t.Cleanup(srv.Close)
	return srv, st, regulator, operatorA
}

func doCT(t *testing.T, method, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCanteenRoles(t *testing.T) {
	srv, _, reg, opA := registryServer(t)
	cases := []struct {
		method, path, token, body string
		status                    int
		contains                  string
	}{
		{"GET", "/api/v1/canteens", "", "", 401, "unauthenticated"},
		{"GET", "/api/v1/canteens/A", "", "", 401, "unauthenticated"},
		{"GET", "/api/v1/canteens", reg, "", 200, `"id":"B"`},
		{"GET", "/api/v1/canteens?category=school", reg, "", 200, `"id":"A"`},
		{"GET", "/api/v1/canteens?district=minhang", "secret", "", 200, `"required_areas":["rough_processing","cooking","washing"]`},
		{"GET", "/api/v1/canteens", opA, "", 200, `"canteens":[{"id":"A"`},
		{"GET", "/api/v1/canteens/A", opA, "", 200, `"name":"School A"`},
		{"GET", "/api/v1/canteens/B", opA, "", 403, "forbidden"},
		{"GET", "/api/v1/canteens/nope", opA, "", 403, "forbidden"},
		{"GET", "/api/v1/canteens/B", reg, "", 200, `"tz":"Asia/Shanghai"`},
		{"GET", "/api/v1/canteens/nope", reg, "", 403, "forbidden"},
		{"GET", "/api/v1/canteens/nope", "secret", "", 404, "no canteen"},
		{"POST", "/api/v1/canteens", reg, `{"id":"C"}`, 403, "forbidden"},
		{"POST", "/api/v1/canteens", opA, `{"id":"A"}`, 403, "forbidden"},
		{"POST", "/api/v1/canteens/import", opA, "", 403, "forbidden"},
		{"GET", "/api/v1/coverage", opA, "", 403, "forbidden"},
		{"GET", "/api/v1/coverage", "", "", 401, "unauthenticated"},
		{"GET", "/api/v1/coverage", reg, "", 200, `"total"`},
	}
	for _, c := range cases {
		status, body := doCT(t, c.method, srv.URL+c.path, c.token, "application/json", c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: %d %.200s; want %d containing %q", c.method, c.path, status, body, c.status, c.contains)
		}
	}
}

func TestPutCanteen(t *testing.T) {
	srv, st, _, _ := registryServer(t)
	cases := []struct {
		body     string
		status   int
		contains string
	}{
		{`{"id":"C",`, 400, "body"},
		{`{"id":"C","colour":"red"}`, 400, "unknown field"},
		{`{"id":"C","category":"restaurant"}`, 400, "category"},
		{`{"id":"bad id"}`, 400, "id"},
		{`{"id":"C","operating_hours":[["06:00-25:00"],[],[],[],[],[],[]]}`, 400, "operating_hours"},
		{`{"id":"C","tz":"Nowhere/City"}`, 400, "tz"},
		{`{"id":"C","required_areas":["cooking","cooking"]}`, 400, "twice"},
		{`{"id":"C","name":"` + strings.Repeat("x", MaxBody) + `"}`, 413, "too_large"},
		{`{"id":"C","name":"Elder home","category":"elder_care","district":"xuhui","required_areas":["cooking","special_room"],
		   "operating_hours":[[],["06:00-13:30"],[],[],[],[],[]]}`, 200, `"active":true`},
		{`{"id":"A","name":"School A","category":"school","active":false}`, 200, `"active":false`},
	}
	for _, c := range cases {
		status, body := doCT(t, "POST", srv.URL+"/api/v1/canteens", "secret", "application/json", c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("POST %.80s: %d %.200s; want %d containing %q", c.body, status, body, c.status, c.contains)
		}
	}
	c, err := st.Canteen(context.Background(), "C")
	if err != nil || !slices.Equal(c.RequiredAreas, []string{"cooking", "special_room"}) || c.Hours[time.Monday][0] != "06:00-13:30" {
		t.Fatalf("stored C = %+v, %v", c, err)
	}
}

func TestImportCanteensCSV(t *testing.T) {
	srv, st, _, _ := registryServer(t)
	const header = "id,name,category,district,address,required_areas,hours\n"
	// Line 3 has too few fields, 4 a bad category, 5 a bad range, 6 a bad
	// id; the good rows must not be stored either.
	broken := header +
		"S1,School 1,school,xuhui,1 Road,,06:00-13:30;16:00-20:00\n" +
		"S2,School 2,school\n" +
		"S3,School 3,restaurant,xuhui,,,\n" +
		"S4,School 4,school,xuhui,,cooking,06:00-33:00\n" +
		"bad id,X,other,xuhui,,,\n" +
		"A,School A renamed,school,xuhui,,,\n"
	status, body := doCT(t, "POST", srv.URL+"/api/v1/canteens/import", "secret", "text/csv", broken)
	if status != 400 {
		t.Fatalf("broken import: %d %s", status, body)
	}
	var resp struct {
		Code string
		Rows []struct {
			Line  int
			Error string
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range resp.Rows {
		lines = append(lines, r.Line)
	}
	if resp.Code != "bad_rows" || !slices.Equal(lines, []int{3, 4, 5, 6}) ||
		!strings.Contains(resp.Rows[1].Error, "category") || !strings.Contains(resp.Rows[2].Error, "operating_hours") {
		t.Fatalf("bad rows = %+v; want lines 3, 4, 5, 6", resp)
	}
	ctx := context.Background()
	cs, _ := st.ListCanteens(ctx, registry.CanteenFilter{})
	if len(cs) != 2 || cs[0].Name != "School A" {
		t.Fatalf("after a refused import: %+v", cs)
	}

	for _, c := range []struct {
		ct, body string
		status   int
		contains string
	}{
		{"application/json", header, 415, "text/csv"},
		{"text/csv", "", 400, "empty file"},
		{"text/csv", "id,name\nS1,x\n", 400, "header"},
		{"text/csv", header, 400, "no canteens"},
		{"text/csv", header + `S1,"unterminated` + "\n", 400, "line"},
		{"text/csv", header + strings.Repeat("S1,School 1,school,xuhui,1 Road,,06:00-13:30\n", MaxImport/40), 413, "too_large"},
	} {
		status, body := doCT(t, "POST", srv.URL+"/api/v1/canteens/import", "secret", c.ct, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("import %.60q: %d %.200s; want %d containing %q", c.body, status, body, c.status, c.contains)
		}
	}

	good := "\ufeff" + header +
		"S1,School 1,school,xuhui,1 Road,,06:00-13:30;16:00-20:00\n" +
		`S2,"Kindergarten 2, East",kindergarten,minhang,,cooking;washing;milk_room,` + "\n" +
		"A,School A renamed,school,xuhui,,,\n"
	status, body = doCT(t, "POST", srv.URL+"/api/v1/canteens/import", "secret", "text/csv; charset=utf-8", good)
	if status != 200 || !strings.Contains(body, `"imported":3`) {
		t.Fatalf("good import: %d %s", status, body)
	}
	s1, err := st.Canteen(ctx, "S1")
	if err != nil || len(s1.RequiredAreas) != 3 || !slices.Equal(s1.Hours[time.Sunday], []string{"06:00-13:30", "16:00-20:00"}) || !s1.Active {
		t.Fatalf("S1 = %+v, %v", s1, err)
	}
	s2, err := st.Canteen(ctx, "S2")
	if err != nil || s2.Name != "Kindergarten 2, East" || !slices.Equal(s2.RequiredAreas, []string{"cooking", "washing", "milk_room"}) {
		t.Fatalf("S2 = %+v, %v", s2, err)
	}
	if a, _ := st.Canteen(ctx, "A"); a.Name != "School A renamed" {
		t.Fatalf("A = %+v", a)
	}
}

// TestCoverageEndToEnd: a canteen with two required areas open 08:00-12:00
// UTC, a camera on each, its gateway connected from 07:00. The cooking
// camera is healthy all morning; the washing camera is occluded from 10:00.
// Camera online rate: (4 h + 2 h) / (2 × 4 h) = 21600 / 28800 s. The
// washing area is covered 50% < 90%, so the canteen is not online that day.
func TestCoverageEndToEnd(t *testing.T) {
	srv, st, reg, _ := registryServer(t)
	ctx := context.Background()
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	if _, err := st.PutCanteen(ctx, registry.Canteen{ID: "K", Category: registry.CategoryKindergarten, District: "d1", Active: true,
		RequiredAreas: []string{"cooking", "washing"}, Hours: coverage.EveryDay("08:00-12:00"), TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddGateway(ctx, "gw-k", "K"); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	if err := st.GatewayState(ctx, "gw-k", wire.State{V: 1, Online: true, Session: 1}, at(7)); err != nil {
		t.Fatal(err)
	}
	if err := st.Heartbeat(ctx, "gw-k", wire.Heartbeat{V: 1, At: at(7), Session: 1, Cameras: []wire.CameraHealth{
		{CameraID: "cam-c", Area: "cooking", Online: true, Picture: "ok"},
		{CameraID: "cam-w", Area: "washing", Online: true, Picture: "ok"},
	}}, at(7)); err != nil {
		t.Fatal(err)
	}
	statuses := []*wire.CameraStatus{
		{V: 1, Seq: 1, CameraID: "cam-c", At: at(7), Online: true, Picture: "ok"},
		{V: 1, Seq: 2, CameraID: "cam-w", At: at(7), Online: true, Picture: "ok"},
		{V: 1, Seq: 3, CameraID: "cam-w", At: at(10), Online: true, Picture: "occluded"},
	}
	var items []registry.IngestItem
	for _, s := range statuses {
		items = append(items, registry.IngestItem{GatewayID: "gw-k", Status: s})
	}
	if _, err := st.Ingest(ctx, items); err != nil {
		t.Fatal(err)
	}

	status, body := doCT(t, "GET", srv.URL+"/api/v1/coverage?category=kindergarten&from=2025-03-03&to=2025-03-03", reg, "", "")
	if status != 200 {
		t.Fatalf("coverage: %d %s", status, body)
	}
	var rep coverage.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	want := coverage.Rates{Built: coverage.Ratio{Num: 1, Den: 1}, Online: coverage.Ratio{Num: 0, Den: 1},
		CameraOnline: coverage.Ratio{Num: 21600, Den: 28800}}
	if rep.Total != want || len(rep.Groups) != 1 || rep.Groups[0].District != "d1" || len(rep.Days) != 1 {
		t.Fatalf("report total %+v groups %+v; want %+v", rep.Total, rep.Groups, want)
	}

	status, body = doCT(t, "GET", srv.URL+"/api/v1/coverage?category=kindergarten&from=2025-03-03&to=2025-03-04&format=csv", "secret", "", "")
	if status != 200 {
		t.Fatalf("coverage csv: %d %s", status, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 3 || len(recs[0]) != len(coverageCSVHeader) {
		t.Fatalf("csv = %q, %v", body, err)
	}
	row := recs[1]
	col := func(name string) string { return row[slices.Index(coverageCSVHeader, name)] }
	if col("day") != "2025-03-03" || col("category") != "kindergarten" || col("camera_online_num") != "21600" ||
		col("camera_online_den") != "28800" || col("camera_online_rate") != "0.75" || col("online_den") != "1" || col("online_rate") != "0" ||
		col("handling_den") != "0" || col("handling_rate") != "" {
		t.Fatalf("csv row %v", row)
	}

	for _, c := range []struct{ q, contains string }{
		{"from=03/03/2025", "from"},
		{"to=tomorrow", "to"},
		{"from=2025-03-04&to=2025-03-03", "days"},
		{"from=2020-01-01&to=2025-01-01", "days"},
		{"format=xml", "format"},
	} {
		if status, body := doCT(t, "GET", srv.URL+"/api/v1/coverage?"+c.q, reg, "", ""); status != 400 || !strings.Contains(body, c.contains) {
			t.Errorf("coverage?%s: %d %s; want 400 containing %q", c.q, status, body, c.contains)
		}
	}
}
