package config

import (
	"errors"
	"strings"
)

// Error is one problem with one key. Parse, FromJSON, ApplyEnv and Validate
// return an *Error, or several joined with errors.Join (one per line);
// errors.As finds the first.
type Error struct {
	// Path is the key path, e.g. "cameras[2].url"; for an unknown key it is
	// the path of the mapping that holds it. Empty for the whole document.
	Path string
	// Where the value came from: "line 14" or "from BK_SPOOL_PATH"; may be empty.
	Where string
	// Msg says what is wrong.
	Msg string
}

// Error formats as "path: msg (where)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Where != "" {
		b.WriteString(" (")
		b.WriteString(e.Where)
		b.WriteString(")")
	}
	return b.String()
}

// maxErrors bounds how many problems one call reports.
const maxErrors = 20

// errorList collects problems in order.
type errorList struct{ errs []error }

func (l *errorList) add(path, where, msg string) {
	if len(l.errs) == maxErrors {
		l.errs = append(l.errs, &Error{Msg: "too many errors"})
	}
	if len(l.errs) > maxErrors {
		return
	}
	l.errs = append(l.errs, &Error{Path: path, Where: where, Msg: msg})
}

func (l *errorList) full() bool { return len(l.errs) > maxErrors }

func (l *errorList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}
