package export

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSheetName is Excel's limit on a sheet name, in UTF-16 code units.
const maxSheetName = 31

// sheetNames returns the tables' sheet names: each sanitized, then made
// unique ignoring case (Excel's comparison) by a " (2)", " (3)", … suffix.
func sheetNames(tables []Table) []string {
	names := make([]string, 0, len(tables))
	for i, t := range tables {
		base := t.Name
		if strings.TrimSpace(base) == "" {
			base = fmt.Sprintf("Sheet%d", i+1)
		}
		base = sheetName(base)
		name := base
		// Each try either succeeds or collides with one of the i names
		// taken, so i+1 suffixes are enough.
		for n := 2; n <= i+2 && taken(names, name); n++ {
			suffix := fmt.Sprintf(" (%d)", n)
			name = sheetName(truncateUTF16(base, maxSheetName-len(suffix)) + suffix)
		}
		names = append(names, name)
	}
	return names
}

// taken reports whether name is among names, ignoring case.
func taken(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// sheetName makes s a valid sheet name: [ ] : * ? / \ and control
// characters become "_", surrounding spaces and apostrophes go, the rest is
// cut to 31 UTF-16 units, "" becomes "Sheet" and Excel's reserved "History"
// becomes "History_".
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) || unicode.IsControl(r) || r == utf8.RuneError {
			return '_'
		}
		return r
	}, s)
	s = trimName(s)
	s = trimName(truncateUTF16(s, maxSheetName))
	switch {
	case s == "":
		return "Sheet"
	case strings.EqualFold(s, "History"):
		return s + "_"
	}
	return s
}

// trimName drops the spaces and apostrophes a sheet name may not start or
// end with (Excel refuses the apostrophes and trims the spaces).
func trimName(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == '\'' || unicode.IsSpace(r) })
}

// truncateUTF16 cuts s to at most n UTF-16 code units, at a rune boundary.
func truncateUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if units+w > n {
			return s[:i]
		}
		units += w
	}
	return s
}
