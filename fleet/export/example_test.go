package export_test

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/export"
)

// An alarm list as CSV: the byte order mark first (for Excel), then RFC
// 4180 records; the unreviewed alarm's verdict and review time are empty.
func ExampleWriteCSV() {
	sh := time.FixedZone("CST", 8*3600)
	tab := export.Table{
		Header: []string{"编号 id", "食堂 canteen", "裁定 verdict", "审核时间 reviewed at"},
		Rows: [][]any{
			{int64(41), "第一中学食堂, 北区", "confirmed", time.Date(2026, 3, 2, 9, 30, 0, 0, sh)},
			{int64(42), "第二中学食堂", nil, time.Time{}},
		},
	}
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, tab); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", buf.Bytes()[:3])
	os.Stdout.Write(bytes.ReplaceAll(buf.Bytes()[3:], []byte("\r\n"), []byte("\n")))
	// Output:
	// "\ufeff"
	// 编号 id,食堂 canteen,裁定 verdict,审核时间 reviewed at
	// 41,"第一中学食堂, 北区",confirmed,2026-03-02T09:30:00+08:00
	// 42,第二中学食堂,,
}

// A coverage report becomes three sheets; a rate with nothing to rate
// (Den 0) is an empty cell.
func ExampleCoverageTables() {
	rep := coverage.Report{
		Days: []coverage.DayRates{{
			Day:           "2026-03-02",
			Online:        coverage.Ratio{Num: 9, Den: 10},
			CameraOnline:  coverage.Ratio{Num: 35000, Den: 36000},
			Handling:      coverage.Ratio{Num: 3, Den: 4},
			Rectification: coverage.Ratio{},
		}},
	}
	for _, t := range export.CoverageTables(rep) {
		fmt.Println(t.Name, len(t.Header), "columns,", len(t.Rows), "rows")
	}
	totals := export.CoverageTables(rep)[0]
	fmt.Println(totals.Header[3], "=", totals.Rows[0][3])
	fmt.Println(totals.Header[12], "=", totals.Rows[0][12])
	// Output:
	// totals 19 columns, 1 rows
	// groups 21 columns, 0 rows
	// period 23 columns, 1 rows
	// 在线覆盖率 online coverage = 0.9
	// 整改率 rectification rate = <nil>
}
