package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// bom is the UTF-8 byte order mark that tells Excel the file is UTF-8.
const bom = "\ufeff"

// WriteCSV writes t as CSV (RFC 4180, via encoding/csv, CRLF line ends):
// a UTF-8 byte order mark, the header if any, then one record per row, each
// as wide as the header. Times are RFC 3339 in the location they carry,
// Percent columns have 4 decimals, nil, NaN, ±Inf and the zero time are
// empty, and strings that a spreadsheet would run as a formula get a
// leading apostrophe. t.Name is not used.
//
// The table is checked before anything is written: an ErrInvalid leaves w
// untouched.
func WriteCSV(w io.Writer, t Table) error {
	cols, percent, err := t.check()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if len(t.Header) > 0 {
		rec := make([]string, cols)
		for i, h := range t.Header {
			rec[i] = csvText(h)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	rec := make([]string, cols)
	for _, row := range t.Rows {
		clear(rec)
		for c, v := range row {
			rec[c] = csvCell(v, percent[c])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// csvCell formats one checked cell.
func csvCell(v any, percent bool) string {
	switch v := v.(type) {
	case string:
		return csvText(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		switch {
		case badFloat(v):
			return ""
		case percent:
			return strconv.FormatFloat(v, 'f', 4, 64)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.Format(time.RFC3339)
	}
	return "" // nil
}

// csvText guards a string a spreadsheet would take for a formula (OWASP's
// advice for CSV injection): "=1+1" is written as "'=1+1".
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
