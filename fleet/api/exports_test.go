package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestExports reads the alarm and rates exports back, as CSV and XLSX.
func TestExports(t *testing.T) {
	w := newWorld(t)
	status, body := w.req(t, "city", "GET", "/api/v1/violations?alarms=1&format=csv", "", nil)
	if status != 200 {
		t.Fatalf("alarms CSV: %d %s", status, body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || !strings.Contains(rows[0][0], "id") {
		t.Fatalf("alarms CSV rows %q", rows)
	}
	ids := map[string]bool{}
	for _, r := range rows[1:] {
		ids[r[0]] = true
		if r[5] != "no_mask" || r[9] != "new" {
			t.Errorf("alarm row %q", r)
		}
		if _, err := time.Parse(time.RFC3339, r[7]); err != nil {
			t.Errorf("started_at %q: %v", r[7], err)
		}
	}
	for c, id := range w.alarm {
		if !ids[fmt.Sprint(id)] {
			t.Errorf("alarm of %s missing from the CSV", c)
		}
	}
	// The regulator of xuhui exports only xuhui's alarms.
	_, body = w.req(t, "regulator", "GET", "/api/v1/violations?alarms=1&format=xlsx", "", nil)
	f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("alarms XLSX: %v", err)
	}
	xrows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(xrows) != 3 {
		t.Fatalf("regulator's XLSX has %d rows, want header + A + C: %q", len(xrows), xrows)
	}
	for _, r := range xrows[1:] {
		if r[3] != "xuhui" {
			t.Errorf("regulator's XLSX row from %q", r[3])
		}
	}
	// Rates as XLSX: the three sheets, the days of the default period.
	status, body = w.req(t, "city", "GET", "/api/v1/coverage?format=xlsx", "", nil)
	if status != 200 {
		t.Fatalf("coverage XLSX: %d %.200s", status, body)
	}
	f, err = excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.GetSheetList(), ","); got != "totals,groups,period" {
		t.Errorf("coverage sheets %s", got)
	}
	totals, err := f.GetRows("totals")
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != 1+DefaultCoverageDays {
		t.Errorf("totals has %d rows, want %d days + header", len(totals), DefaultCoverageDays)
	}
	if status, body := w.req(t, "city", "GET", "/api/v1/coverage?format=pdf", "", nil); status != 400 {
		t.Errorf("format=pdf: %d %s", status, body)
	}
}
