package sdk

import (
	"fmt"
	"strconv"
)

// Param reads one setting from a frame's params (the camera's
// detect.plugins[].params in the gateway config): Float and Int make them.
type Param struct {
	key   string
	parse func(s string) error
}

// Float is a decimal number in (0, max], stored in *v.
func Float(key string, v *float64, max float64) Param {
	return Param{key, func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0 && f <= max) { // also refuses NaN
			return fmt.Errorf("param %s: %q is not a number in (0, %g]", key, s, max)
		}
		*v = f
		return nil
	}}
}

// Int is an integer in 1..max, stored in *v.
func Int(key string, v *int, max int) Param {
	return Param{key, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return fmt.Errorf("param %s: %q is not an integer in 1..%d", key, s, max)
		}
		*v = n
		return nil
	}}
}

// Custom parses the setting with parse, which stores it and says what is
// wrong with a bad value.
func Custom(key string, parse func(s string) error) Param {
	return Param{key, func(s string) error {
		if err := parse(s); err != nil {
			return fmt.Errorf("param %s: %w", key, err)
		}
		return nil
	}}
}

// ParseParams reads each of ps that params holds; missing keys keep what
// their variables hold (the defaults), unknown keys are ignored (the host
// may pass params meant for another version of the plugin). The first bad
// value is the error.
func ParseParams(params map[string]string, ps ...Param) error {
	for _, p := range ps {
		if s, ok := params[p.key]; ok {
			if err := p.parse(s); err != nil {
				return err
			}
		}
	}
	return nil
}
