package rules

import (
	"errors"
	"fmt"
)

// Error is one problem with one key of a camera's detect section. Validate
// and Parse return an *Error, or several joined with errors.Join; errors.As
// finds the first. The gateway config turns them into its own errors,
// adding the line each key came from.
type Error struct {
	// Path is the key path, e.g. "cameras[0].detect.rules[1].zone"; empty
	// for a document that is not YAML at all.
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error formats as "path: msg".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// maxErrors bounds how many problems one Validate reports.
const maxErrors = 20

type errorList struct{ errs []error }

func (l *errorList) fail(path, format string, args ...any) {
	switch {
	case len(l.errs) > maxErrors:
		return
	case len(l.errs) == maxErrors:
		l.errs = append(l.errs, &Error{Path: path, Msg: "too many errors"})
		return
	}
	l.errs = append(l.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}
