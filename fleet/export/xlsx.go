package export

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// Number formats of XLSX cells.
const (
	timeFormat    = "yyyy-mm-dd hh:mm:ss"
	percentFormat = "0.0%"
)

// Column widths, in Excel's character units.
const (
	minWidth = 6
	maxWidth = 60
)

// WriteXLSX writes the tables as one workbook, one sheet per table in
// order (names sanitized and made unique, see Table.Name). Each sheet has
// its header bold and frozen, columns about as wide as their content (a
// CJK character counting as two), numbers as numbers, Percent columns in
// "0.0%", and times as Excel dates shown "yyyy-mm-dd hh:mm:ss" (the wall
// clock of their location, truncated to the second). Rows are streamed, so
// memory does not grow with them.
//
// All tables are checked before anything is written: an ErrInvalid leaves
// w untouched.
func WriteXLSX(w io.Writer, tables ...Table) error {
	if len(tables) == 0 {
		return fmt.Errorf("%w: no tables", ErrInvalid)
	}
	shapes := make([]shape, len(tables))
	for i, t := range tables {
		cols, percent, err := t.check()
		if err != nil {
			return err
		}
		shapes[i] = shape{cols: cols, percent: percent}
	}
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	first := f.GetSheetName(0)
	for i, name := range sheetNames(tables) {
		if i == 0 {
			err = f.SetSheetName(first, name)
		} else {
			_, err = f.NewSheet(name)
		}
		if err != nil {
			return fmt.Errorf("add sheet %q: %w", name, err)
		}
		if err := writeSheet(f, name, tables[i], shapes[i], st); err != nil {
			return fmt.Errorf("write sheet %q: %w", name, err)
		}
	}
	f.SetActiveSheet(0)
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}

// shape is a checked table's width and percent columns.
type shape struct {
	cols    int
	percent []bool
}

// styles are the workbook's cell style ids.
type styles struct {
	header, time, percent int
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return st, fmt.Errorf("header style: %w", err)
	}
	tf, pf := timeFormat, percentFormat
	if st.time, err = f.NewStyle(&excelize.Style{CustomNumFmt: &tf}); err != nil {
		return st, fmt.Errorf("time style: %w", err)
	}
	if st.percent, err = f.NewStyle(&excelize.Style{CustomNumFmt: &pf}); err != nil {
		return st, fmt.Errorf("percent style: %w", err)
	}
	return st, nil
}

// writeSheet streams one checked table into the sheet name.
func writeSheet(f *excelize.File, name string, t Table, sh shape, st styles) error {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for c, w := range columnWidths(t, sh) {
		if err := sw.SetColWidth(c+1, c+1, w); err != nil {
			return err
		}
	}
	row := 1
	cells := make([]any, sh.cols)
	if len(t.Header) > 0 {
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		for c, h := range t.Header {
			cells[c] = excelize.Cell{StyleID: st.header, Value: h}
		}
		if err := sw.SetRow("A1", cells); err != nil {
			return err
		}
		row++
	}
	for _, r := range t.Rows {
		for c, v := range r {
			cells[c] = xlsxCell(v, sh.percent[c], st)
		}
		if err := sw.SetRow("A"+strconv.Itoa(row), cells[:len(r)]); err != nil {
			return err
		}
		row++
	}
	return sw.Flush()
}

// xlsxCell turns one checked cell into what the StreamWriter writes.
func xlsxCell(v any, percent bool, st styles) any {
	switch v := v.(type) {
	case float64:
		switch {
		case badFloat(v):
			return nil
		case percent:
			return excelize.Cell{StyleID: st.percent, Value: v}
		}
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return excelize.Cell{StyleID: st.time, Value: v.Truncate(time.Second)}
	}
	return v
}

// columnWidths fits each column to its widest cell as shown, between
// minWidth and maxWidth, plus a margin.
func columnWidths(t Table, sh shape) []float64 {
	chars := make([]int, sh.cols)
	for c, h := range t.Header {
		chars[c] = textWidth(h)
	}
	var buf [32]byte
	for _, r := range t.Rows {
		for c, v := range r {
			n := 0
			switch v := v.(type) {
			case string:
				n = textWidth(v)
			case int:
				n = len(strconv.AppendInt(buf[:0], int64(v), 10))
			case int64:
				n = len(strconv.AppendInt(buf[:0], v, 10))
			case float64:
				switch {
				case sh.percent[c]:
					n = len("100.0%")
				case !badFloat(v):
					// Excel's General format shows at most 11 characters.
					n = min(len(strconv.AppendFloat(buf[:0], v, 'f', -1, 64)), 11)
				}
			case bool:
				n = len("FALSE")
			case time.Time:
				n = len(timeFormat)
			}
			chars[c] = max(chars[c], n)
		}
	}
	widths := make([]float64, sh.cols)
	for c, n := range chars {
		widths[c] = float64(min(max(n+2, minWidth), maxWidth))
	}
	return widths
}

// textWidth is the widest line of s in character cells, an East Asian wide
// or fullwidth character counting as two.
func textWidth(s string) int {
	widest, n := 0, 0
	for _, r := range s {
		switch {
		case r == '\n':
			widest, n = max(widest, n), 0
		case wide(r):
			n += 2
		default:
			n++
		}
	}
	return max(widest, n)
}

// wide reports an East Asian wide or fullwidth rune: CJK ideographs, kana,
// hangul, CJK punctuation and fullwidth forms.
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115F, // Hangul Jamo
		0x2E80 <= r && r <= 0x303E, // CJK radicals, punctuation
		0x3041 <= r && r <= 0x33FF, // kana, CJK compatibility
		0x3400 <= r && r <= 0x4DBF, // CJK extension A
		0x4E00 <= r && r <= 0x9FFF, // CJK unified ideographs
		0xA000 <= r && r <= 0xA4CF, // Yi
		0xAC00 <= r && r <= 0xD7A3, // Hangul syllables
		0xF900 <= r && r <= 0xFAFF, // CJK compatibility ideographs
		0xFE30 <= r && r <= 0xFE4F, // CJK compatibility forms
		0xFF00 <= r && r <= 0xFF60, // fullwidth forms
		0xFFE0 <= r && r <= 0xFFE6,
		0x20000 <= r && r <= 0x3FFFD: // CJK extensions B and on
		return true
	}
	return false
}
