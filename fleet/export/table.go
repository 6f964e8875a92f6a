package export

import (
	"fmt"
	"math"
	"time"
)

// Spreadsheet limits (Excel's, enforced for CSV too so either format opens).
const (
	maxRows = 1 << 20 // 1,048,576 rows, the header included
	maxCols = 1 << 14 // 16,384 columns
)

// Table is one sheet: a name, a header row and rows of cells.
type Table struct {
	// Name is the sheet name in XLSX. Excel's rules are applied: at most 31
	// characters, none of [ ] : * ? / \, no apostrophe first or last, not
	// "History", unique (ignoring case) within a workbook. Empty means
	// "Sheet<n>", n counting tables from 1. CSV ignores it.
	Name string
	// Header is the first row, bold and frozen in XLSX. It may be empty.
	Header []string
	// Rows are the cells: string, int, int64, float64, bool, time.Time, or
	// nil for empty. A row may be shorter than the header (the rest is
	// empty), not longer.
	Rows [][]any
	// Percent lists the columns (0-based) whose float64 values are shares
	// 0..1: XLSX shows them with the number format "0.0%", CSV writes them
	// as plain numbers with 4 decimals.
	Percent []int
}

// check returns the table's width (the header's, or the widest row's when
// there is no header) and the set of percent columns, or an ErrInvalid
// naming the first bad cell.
func (t Table) check() (cols int, percent []bool, err error) {
	cols = len(t.Header)
	if cols == 0 {
		for _, row := range t.Rows {
			cols = max(cols, len(row))
		}
	}
	switch {
	case cols > maxCols:
		return 0, nil, fmt.Errorf("%w: table %q: %d columns, at most %d", ErrInvalid, t.Name, cols, maxCols)
	case len(t.Rows)+1 > maxRows:
		return 0, nil, fmt.Errorf("%w: table %q: %d rows, at most %d", ErrInvalid, t.Name, len(t.Rows), maxRows-1)
	}
	percent = make([]bool, cols)
	for i, c := range t.Percent {
		if c < 0 || c >= cols {
			return 0, nil, fmt.Errorf("%w: table %q: percent[%d] = %d: want a column in 0..%d", ErrInvalid, t.Name, i, c, cols-1)
		}
		percent[c] = true
	}
	for r, row := range t.Rows {
		if len(row) > cols {
			return 0, nil, fmt.Errorf("%w: table %q: rows[%d]: %d cells, header has %d", ErrInvalid, t.Name, r, len(row), cols)
		}
		for c, v := range row {
			switch v.(type) {
			case nil, string, int, int64, float64, bool, time.Time:
			default:
				return 0, nil, fmt.Errorf("%w: table %q: rows[%d][%d]: unsupported type %T", ErrInvalid, t.Name, r, c, v)
			}
		}
	}
	return cols, percent, nil
}

// badFloat reports a float written as an empty cell.
func badFloat(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
