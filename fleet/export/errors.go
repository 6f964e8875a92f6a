package export

import "errors"

// ErrInvalid is a table this package cannot write: no tables at all, a cell
// of an unsupported type, a row wider than the header, a Percent column out
// of range, or more rows or columns than a spreadsheet holds. The wrapping
// message names the table, the row and the column.
var ErrInvalid = errors.New("invalid export table")
