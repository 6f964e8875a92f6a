package export

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// readCSV checks the byte order mark and parses the rest.
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rest, ok := bytes.CutPrefix(b, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatalf("csv does not start with a UTF-8 BOM: % x", b[:min(len(b), 8)])
	}
	recs, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatalf("read back csv: %v\n%s", err, rest)
	}
	return recs
}

func TestWriteCSV(t *testing.T) {
	sh := shanghai(t)
	at := time.Date(2026, 3, 2, 9, 30, 15, 600e6, sh)
	tab := Table{
		Name:    "alarms",
		Header:  []string{"编号 id", "食堂 canteen", "备注 note", "率 rate", "值 value", "确认 ok", "时间 at"},
		Percent: []int{3},
		Rows: [][]any{
			{int64(1), "第一中学食堂", `said "hi", then left`, 0.5, 3, true, at},
			{2, "a,b", "line 1\nline 2", 1.0 / 3, 2.5, false, at.UTC()},
			{int64(3), nil, "", math.NaN(), math.Inf(1), nil, time.Time{}},
			{4, "=1+1", "-5", 0.12345678, math.NaN()},
			{5, "@SUM(A1)", "+x"},
		},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, tab); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("\r\n")) {
		t.Error("records are not CRLF-terminated")
	}
	want := [][]string{
		{"编号 id", "食堂 canteen", "备注 note", "率 rate", "值 value", "确认 ok", "时间 at"},
		{"1", "第一中学食堂", `said "hi", then left`, "0.5000", "3", "true", "2026-03-02T09:30:15+08:00"},
		{"2", "a,b", "line 1\nline 2", "0.3333", "2.5", "false", "2026-03-02T01:30:15Z"},
		{"3", "", "", "", "", "", ""},
		{"4", "'=1+1", "'-5", "0.1235", "", "", ""},
		{"5", "'@SUM(A1)", "'+x", "", "", "", ""},
	}
	got := readCSV(t, buf.Bytes())
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("read back\n%q\nwant\n%q", got, want)
	}
}

func TestWriteCSVNoHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, Table{Rows: [][]any{{"a"}, {"b", 2}}}); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", ""}, {"b", "2"}}
	if got := readCSV(t, buf.Bytes()); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestInvalidTables(t *testing.T) {
	for _, tc := range []struct {
		name string
		tab  Table
		msg  string
	}{
		{"unsupported type", Table{Name: "x", Header: []string{"a"}, Rows: [][]any{{"ok"}, {[]byte("no")}}}, `table "x": rows[1][0]: unsupported type []uint8`},
		{"float32", Table{Header: []string{"a"}, Rows: [][]any{{float32(1)}}}, "rows[0][0]: unsupported type float32"},
		{"row wider than header", Table{Header: []string{"a"}, Rows: [][]any{{1, 2}}}, "rows[0]: 2 cells, header has 1"},
		{"percent out of range", Table{Header: []string{"a", "b"}, Percent: []int{1, 2}}, "percent[1] = 2: want a column in 0..1"},
		{"negative percent", Table{Header: []string{"a"}, Percent: []int{-1}}, "percent[0] = -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for format, write := range map[string]func(*bytes.Buffer) error{
				"csv":  func(b *bytes.Buffer) error { return WriteCSV(b, tc.tab) },
				"xlsx": func(b *bytes.Buffer) error { return WriteXLSX(b, Table{Name: "fine"}, tc.tab) },
			} {
				var buf bytes.Buffer
				err := write(&buf)
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("%s: error %v, want ErrInvalid with %q", format, err, tc.msg)
				}
				if buf.Len() != 0 {
					t.Errorf("%s: %d bytes written before the error", format, buf.Len())
				}
			}
		})
	}
	if err := WriteXLSX(new(bytes.Buffer)); !errors.Is(err, ErrInvalid) {
		t.Errorf("no tables: error %v, want ErrInvalid", err)
	}
}

// openXLSX writes the tables and opens the result.
func openXLSX(t *testing.T, tables ...Table) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, tables...); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("open written xlsx: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// numFmt is the custom number format of a cell, "" when none.
func numFmt(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt == nil {
		return ""
	}
	return *st.CustomNumFmt
}

// number is a cell's value when it is a number cell.
func number(t *testing.T, f *excelize.File, sheet, cell string) float64 {
	t.Helper()
	typ, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	// A number cell has no type attribute (Unset) or "n".
	x, perr := strconv.ParseFloat(raw, 64)
	if (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) || perr != nil {
		t.Fatalf("%s!%s = %q (type %v), want a number cell", sheet, cell, raw, typ)
	}
	return x
}

func TestWriteXLSX(t *testing.T) {
	sh := shanghai(t)
	at := time.Date(2026, 3, 2, 9, 30, 15, 600e6, sh)
	alarms := Table{
		Name:    "alarms",
		Header:  []string{"编号 id", "食堂 canteen", "备注 note", "率 rate", "值 value", "确认 ok", "时间 at"},
		Percent: []int{3},
		Rows: [][]any{
			{int64(1), "第一中学食堂第一中学食堂", "=1+1", 0.25, 3, true, at},
			{2, "a", "line 1\nline 2", math.NaN(), math.Inf(-1), false, time.Time{}},
			{3, nil, "short"},
		},
	}
	plain := Table{Name: "plain", Header: []string{"x"}, Rows: [][]any{{1.5}}}
	f := openXLSX(t, alarms, plain)

	if got := f.GetSheetList(); !slices.Equal(got, []string{"alarms", "plain"}) {
		t.Fatalf("sheets %q, want [alarms plain]", got)
	}
	rows, err := f.GetRows("alarms")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || !slices.Equal(rows[0], alarms.Header) {
		t.Fatalf("rows %q: want 4 with the header first", rows)
	}

	// Header: bold and frozen.
	id, _ := f.GetCellStyle("alarms", "B1")
	if st, _ := f.GetStyle(id); st.Font == nil || !st.Font.Bold {
		t.Error("header is not bold")
	}
	if p, err := f.GetPanes("alarms"); err != nil || !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
		t.Errorf("panes %+v, %v: want the first row frozen", p, err)
	}

	// Numbers are numbers, strings strings, booleans booleans.
	for cell, want := range map[string]float64{"A2": 1, "A3": 2, "E2": 3, "D2": 0.25} {
		if got := number(t, f, "alarms", cell); got != want {
			t.Errorf("%s = %v, want %v", cell, got, want)
		}
	}
	if got := number(t, f, "plain", "A2"); got != 1.5 {
		t.Errorf("plain!A2 = %v, want 1.5", got)
	}
	for cell, want := range map[string]string{"B2": "第一中学食堂第一中学食堂", "C2": "=1+1", "C3": "line 1\nline 2", "C4": "short"} {
		typ, _ := f.GetCellType("alarms", cell)
		got, _ := f.GetCellValue("alarms", cell)
		if typ != excelize.CellTypeInlineString || got != want {
			t.Errorf("%s = %q (type %v), want the string %q", cell, got, typ, want)
		}
	}
	if typ, _ := f.GetCellType("alarms", "F2"); typ != excelize.CellTypeBool {
		t.Errorf("F2 type %v, want bool", typ)
	}
	if got, _ := f.GetCellValue("alarms", "F3"); got != "FALSE" {
		t.Errorf("F3 = %q, want FALSE", got)
	}

	// NaN, ±Inf, the zero time and nil are empty cells.
	for _, cell := range []string{"D3", "E3", "G3", "B4", "D4"} {
		if got, _ := f.GetCellValue("alarms", cell, excelize.Options{RawCellValue: true}); got != "" {
			t.Errorf("%s = %q, want empty", cell, got)
		}
	}

	// Percent and time formats.
	if got := numFmt(t, f, "alarms", "D2"); got != "0.0%" {
		t.Errorf("D2 number format %q, want 0.0%%", got)
	}
	if got, _ := f.GetCellValue("alarms", "D2"); got != "25.0%" {
		t.Errorf("D2 shows %q, want 25.0%%", got)
	}
	if got := numFmt(t, f, "alarms", "G2"); got != "yyyy-mm-dd hh:mm:ss" {
		t.Errorf("G2 number format %q, want yyyy-mm-dd hh:mm:ss", got)
	}
	if got, _ := f.GetCellValue("alarms", "G2"); got != "2026-03-02 09:30:15" {
		t.Errorf("G2 shows %q, want 2026-03-02 09:30:15", got)
	}
	// The serial date is the wall clock in the time's location: read it
	// back in that location, it is the same instant to the second.
	wall, err := excelize.ExcelDateToTime(number(t, f, "alarms", "G2"), false)
	if err != nil {
		t.Fatal(err)
	}
	wall = wall.Round(time.Second)
	back := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, sh)
	if !back.Equal(at.Truncate(time.Second)) {
		t.Errorf("time reads back as %v, want %v", back, at.Truncate(time.Second))
	}

	// Widths follow content; CJK counts double.
	wa, _ := f.GetColWidth("alarms", "A")
	wb, _ := f.GetColWidth("alarms", "B")
	if wb < 24 || wb <= wa {
		t.Errorf("column widths A %v, B %v: want B (12 CJK characters) at least 24 and wider than A", wa, wb)
	}
}

func TestWriteXLSXSheetNames(t *testing.T) {
	long := strings.Repeat("x", 40)
	f := openXLSX(t,
		Table{Name: "a/b:c"},
		Table{Name: "A_B_C"},
		Table{Name: "[rates]?"},
		Table{},
		Table{Name: long},
		Table{Name: long},
		Table{Name: "'history'"},
	)
	want := []string{"a_b_c", "A_B_C (2)", "_rates__", "Sheet4", long[:31], long[:27] + " (2)", "history_"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Errorf("sheets %q, want %q", got, want)
	}
}

func TestSheetName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"totals", "totals"},
		{`a[b]c:d*e?f/g\h`, "a_b_c_d_e_f_g_h"},
		{"'quoted'", "quoted"},
		{"it's", "it's"},
		{" 'x' ", "x"},
		{"", "Sheet"},
		{"  ", "Sheet"},
		{"''", "Sheet"},
		{"tab\there", "tab_here"},
		{strings.Repeat("a", 31), strings.Repeat("a", 31)},
		{strings.Repeat("a", 32), strings.Repeat("a", 31)},
		{strings.Repeat("在线", 20), strings.Repeat("在线", 15) + "在"},
		{strings.Repeat("😀", 20), strings.Repeat("😀", 15)},
		{strings.Repeat("a", 30) + " 'b", strings.Repeat("a", 30)},
		{"History", "History_"},
		{"HISTORY", "HISTORY_"},
		{"history 2", "history 2"},
		{"bad\xffutf8", "bad_utf8"},
	} {
		if got := sheetName(tc.in); got != tc.want {
			t.Errorf("sheetName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSheetNamesUnique(t *testing.T) {
	tabs := make([]Table, 12)
	for i := range tabs {
		tabs[i].Name = "data"
	}
	names := sheetNames(tabs)
	for i, n := range names {
		if i > 0 && n != fmt.Sprintf("data (%d)", i+1) {
			t.Errorf("names[%d] = %q", i, n)
		}
		if slices.IndexFunc(names[:i], func(m string) bool { return strings.EqualFold(m, n) }) >= 0 {
			t.Errorf("names[%d] = %q repeats", i, n)
		}
	}
	// A name that already looks like a suffixed one does not collide.
	got := sheetNames([]Table{{Name: "d (2)"}, {Name: "d"}, {Name: "d"}})
	if want := []string{"d (2)", "d", "d (3)"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTextWidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"食堂", 4},
		{"食堂 canteen", 12},
		{"ＡＢ", 4},
		{"long line\nab", 9},
		{"ab\n食堂食堂食堂", 12},
	} {
		if got := textWidth(tc.in); got != tc.want {
			t.Errorf("textWidth(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// report is a hand-built coverage report: two days, two groups; on
// 2026-03-03 nothing was raised in xuhui, so its handling and
// rectification rates have Den 0.
func report() coverage.Report {
	r := func(num, den int64) coverage.Ratio { return coverage.Ratio{Num: num, Den: den} }
	xh := []coverage.DayRates{
		{Day: "2026-03-02", Online: r(1, 2), CameraOnline: r(900, 1000), Handling: r(3, 4), Rectification: r(1, 2)},
		{Day: "2026-03-03", Online: r(2, 2), CameraOnline: r(1000, 1000), Handling: r(0, 0), Rectification: r(0, 0)},
	}
	mh := []coverage.DayRates{
		{Day: "2026-03-02", Online: r(0, 1), CameraOnline: r(0, 500), Handling: r(1, 1), Rectification: r(0, 1)},
		{Day: "2026-03-03", Online: r(1, 1), CameraOnline: r(250, 500), Handling: r(0, 2), Rectification: r(0, 0)},
	}
	return coverage.Report{
		Days: []coverage.DayRates{
			{Day: "2026-03-02", Online: r(1, 3), CameraOnline: r(900, 1500), Handling: r(4, 5), Rectification: r(1, 3), Reply: r(2, 3), ReplyOnTime: r(1, 3)},
			{Day: "2026-03-03", Online: r(3, 3), CameraOnline: r(1250, 1500), Handling: r(0, 2), Rectification: r(0, 0)},
		},
		Groups: []coverage.GroupRates{
			{Category: "school", District: "xuhui", Days: xh, Total: coverage.Rates{Built: r(2, 2), Online: r(3, 4), CameraOnline: r(1900, 2000), Handling: r(3, 4), Rectification: r(1, 2)}},
			{Category: "school", District: "minhang", Days: mh, Total: coverage.Rates{Built: r(0, 1), Online: r(1, 2), CameraOnline: r(250, 1000), Handling: r(1, 3), Rectification: r(0, 1)}},
		},
		Total: coverage.Rates{Built: r(2, 3), Online: r(4, 6), CameraOnline: r(2150, 3000), Handling: r(4, 7), Rectification: r(1, 3), Reply: r(2, 3), ReplyOnTime: r(1, 3)},
	}
}

func TestCoverageTables(t *testing.T) {
	tabs := CoverageTables(report())
	var names []string
	for _, tab := range tabs {
		names = append(names, tab.Name)
		if _, _, err := tab.check(); err != nil {
			t.Errorf("%s: %v", tab.Name, err)
		}
		for _, c := range tab.Percent {
			h := tab.Header[c]
			if strings.HasSuffix(h, " num") || strings.HasSuffix(h, " den") || !strings.HasSuffix(h, "rate") && !strings.HasSuffix(h, "coverage") {
				t.Errorf("%s: percent column %d is %q, not a rate", tab.Name, c, h)
			}
		}
		for i, row := range tab.Rows {
			if len(row) != len(tab.Header) {
				t.Errorf("%s: rows[%d] has %d cells, header %d", tab.Name, i, len(row), len(tab.Header))
			}
		}
	}
	if want := []string{"totals", "groups", "period"}; !slices.Equal(names, want) {
		t.Fatalf("tables %q, want %q", names, want)
	}
	totals, groups, period := tabs[0], tabs[1], tabs[2]

	if totals.Header[0] != "日期 day" || totals.Header[3] != "在线覆盖率 online coverage" || totals.Header[1] != "在线覆盖率分子 online coverage num" {
		t.Errorf("totals header %q", totals.Header)
	}
	wantTotals := [][]any{
		{"2026-03-02", int64(1), int64(3), 1.0 / 3, int64(900), int64(1500), 0.6, int64(4), int64(5), 0.8, int64(1), int64(3), 1.0 / 3,
			int64(2), int64(3), 2.0 / 3, int64(1), int64(3), 1.0 / 3},
		{"2026-03-03", int64(3), int64(3), 1.0, int64(1250), int64(1500), 1250.0 / 1500, int64(0), int64(2), 0.0, int64(0), int64(0), nil,
			int64(0), int64(0), nil, int64(0), int64(0), nil},
	}
	if !rowsEqual(totals.Rows, wantTotals) {
		t.Errorf("totals rows\n%v\nwant\n%v", totals.Rows, wantTotals)
	}

	if len(groups.Rows) != 4 {
		t.Fatalf("groups: %d rows, want 4 (2 groups × 2 days)", len(groups.Rows))
	}
	wantG := []any{"school", "xuhui", "2026-03-03", int64(2), int64(2), 1.0, int64(1000), int64(1000), 1.0, int64(0), int64(0), nil, int64(0), int64(0), nil,
		int64(0), int64(0), nil, int64(0), int64(0), nil}
	if !rowsEqual(groups.Rows[1:2], [][]any{wantG}) {
		t.Errorf("groups.Rows[1] = %v, want %v", groups.Rows[1], wantG)
	}
	if got := groups.Rows[2][:3]; !slices.Equal(got, []any{"school", "minhang", "2026-03-02"}) {
		t.Errorf("groups.Rows[2] starts %v", got)
	}

	if period.Header[4] != "建设覆盖率 built coverage" {
		t.Errorf("period header %q", period.Header)
	}
	wantPeriod := [][]any{
		{"school", "xuhui", int64(2), int64(2), 1.0, int64(3), int64(4), 0.75, int64(1900), int64(2000), 0.95, int64(3), int64(4), 0.75, int64(1), int64(2), 0.5, int64(0), int64(0), nil, int64(0), int64(0), nil},
		{"school", "minhang", int64(0), int64(1), 0.0, int64(1), int64(2), 0.5, int64(250), int64(1000), 0.25, int64(1), int64(3), 1.0 / 3, int64(0), int64(1), 0.0, int64(0), int64(0), nil, int64(0), int64(0), nil},
		{"合计 total", "", int64(2), int64(3), 2.0 / 3, int64(4), int64(6), 4.0 / 6, int64(2150), int64(3000), 2150.0 / 3000, int64(4), int64(7), 4.0 / 7, int64(1), int64(3), 1.0 / 3,
			int64(2), int64(3), 2.0 / 3, int64(1), int64(3), 1.0 / 3},
	}
	if !rowsEqual(period.Rows, wantPeriod) {
		t.Errorf("period rows\n%v\nwant\n%v", period.Rows, wantPeriod)
	}

	// Through the writers: the Den-0 rate is an empty cell, not 0.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, groups); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, buf.Bytes())
	if got := recs[2]; got[11] != "" || got[10] != "0" || got[5] != "1.0000" {
		t.Errorf("csv groups row 2 = %q: want handling rate empty, den 0, online 1.0000", got)
	}
	f := openXLSX(t, tabs...)
	if got := f.GetSheetList(); !slices.Equal(got, names) {
		t.Errorf("sheets %q, want %q", got, names)
	}
	if got, _ := f.GetCellValue("totals", "M3", excelize.Options{RawCellValue: true}); got != "" {
		t.Errorf("totals!M3 (rectification, Den 0) = %q, want empty", got)
	}
	if got, _ := f.GetCellValue("totals", "J3"); got != "0.0%" {
		t.Errorf("totals!J3 (handling 0/2) shows %q, want 0.0%%", got)
	}
	if got, _ := f.GetCellValue("period", "K2"); got != "95.0%" {
		t.Errorf("period!K2 (camera online 1900/2000) shows %q, want 95.0%%", got)
	}
}

func TestCoverageTablesEmpty(t *testing.T) {
	tabs := CoverageTables(coverage.Report{})
	if len(tabs) != 3 || len(tabs[0].Rows) != 0 || len(tabs[1].Rows) != 0 || len(tabs[2].Rows) != 1 {
		t.Fatalf("empty report: %d tables; want totals and groups empty and period only the total row", len(tabs))
	}
	if got := tabs[2].Rows[0]; got[4] != nil || got[3] != int64(0) {
		t.Errorf("empty total row %v: want rates empty", got)
	}
	if err := WriteXLSX(new(bytes.Buffer), tabs...); err != nil {
		t.Fatal(err)
	}
}

// rowsEqual compares rows, floats to 1e-12.
func rowsEqual(got, want [][]any) bool {
	return slices.EqualFunc(got, want, func(g, w []any) bool {
		return slices.EqualFunc(g, w, func(a, b any) bool {
			fa, ok1 := a.(float64)
			fb, ok2 := b.(float64)
			if ok1 && ok2 {
				return math.Abs(fa-fb) < 1e-12
			}
			return a == b
		})
	})
}

// bigTable is an alarm list of n rows.
func bigTable(tb testing.TB, n int) Table {
	sh := shanghai(tb)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, sh)
	types := []string{"no_hat 未戴帽", "no_mask 未戴口罩", "rodent 鼠患", "smoking 吸烟"}
	tab := Table{
		Name:    "alarms",
		Header:  []string{"编号 id", "食堂 canteen", "区域 district", "类型 type", "时间 at", "置信度 score", "已处置 handled"},
		Percent: []int{5},
		Rows:    make([][]any, n),
	}
	for i := range tab.Rows {
		tab.Rows[i] = []any{int64(i + 1), fmt.Sprintf("第%d中学食堂", i%500), "徐汇区", types[i%len(types)],
			t0.Add(time.Duration(i) * 37 * time.Second), float64(i%100) / 100, i%3 == 0}
	}
	return tab
}

func TestWriteXLSXManyRows(t *testing.T) {
	const n = 5000
	f := openXLSX(t, bigTable(t, n))
	rows, err := f.Rows("alarms")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		count++
	}
	if count != n+1 {
		t.Errorf("%d rows read back, want %d", count, n+1)
	}
	if got, _ := f.GetCellValue("alarms", fmt.Sprintf("A%d", n+1)); got != strconv.Itoa(n) {
		t.Errorf("last id %q, want %d", got, n)
	}
}

// BenchmarkWriteXLSX100k writes 100,000 alarm rows; "bytes/file" is the
// size of the XLSX.
func BenchmarkWriteXLSX100k(b *testing.B) {
	tab := bigTable(b, 100_000)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteXLSX(&buf, tab); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/file")
}

// BenchmarkWriteCSV100k is the same rows as CSV.
func BenchmarkWriteCSV100k(b *testing.B) {
	tab := bigTable(b, 100_000)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, tab); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/file")
}
