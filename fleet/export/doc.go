// Package export writes tables to CSV and XLSX for regulators' spreadsheets:
// the rates of fleet/coverage (CoverageTables) and lists such as the alarms,
// which the HTTP API builds as Tables itself.
//
// A Table is a sheet name, a header row and rows of cells. A cell is one of
// string, int, int64, float64, bool, time.Time, or nil for an empty cell;
// anything else is an ErrInvalid before a byte is written. Both writers
// check the whole table first, so a caller can still answer with an error
// status when WriteCSV or WriteXLSX fails.
//
// Both formats write a NaN or infinite float, a zero time.Time and nil as
// an empty cell. Times are shown as the wall clock of the location they
// carry, at second precision (truncated): pass them already in the zone the
// reader expects (a canteen's, or Asia/Shanghai).
//
// CSV (RFC 4180, CRLF line ends) starts with a UTF-8 byte order mark, which
// Excel needs to read UTF-8 (Chinese text) rather than the system code page.
// A string cell that starts with = + - @, a tab or a carriage return gets a
// leading apostrophe, so that a spreadsheet shows it as text instead of
// running it as a formula (CSV injection); XLSX stores strings as strings and
// needs no such guard.
//
// XLSX is written with excelize's StreamWriter: rows go out as XML as they
// come, kept in memory up to 16 MB per sheet and in a temporary file beyond
// (removed before WriteXLSX returns); excelize then assembles the compressed
// file in memory before writing it to w. 100,000 rows of seven columns make
// a file of about 4 MB in about a second (BenchmarkWriteXLSX100k).
package export
