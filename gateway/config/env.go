package config

import (
	"maps"
	"reflect"
	"strings"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "BK_"

// EnvName is the environment variable that overrides the key at path:
// "spool.max_bytes" is BK_SPOOL_MAX_BYTES.
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// EnvVar is one environment override: variable Name sets the key at Path.
type EnvVar struct{ Name, Path string }

// EnvVars lists every environment override in schema order. Every scalar
// key outside the lists (cameras, plugins) and models has one.
func EnvVars() []EnvVar {
	var out []EnvVar
	walkScalars(reflect.ValueOf(&Config{}).Elem(), "", func(_ reflect.Value, path string) {
		out = append(out, EnvVar{Name: EnvName(path), Path: path})
	})
	return out
}

// walkScalars calls f for each scalar field of the struct v (not inside
// lists or maps, not inside a detect section), with its key path.
func walkScalars(v reflect.Value, path string, f func(reflect.Value, string)) {
	for _, fl := range fieldList(v.Type()) {
		fv, p := v.Field(fl.index), join(path, fl.name)
		if fv.Type() == detectType {
			continue
		}
		switch fv.Kind() {
		case reflect.Struct:
			walkScalars(fv, p, f)
		case reflect.Slice, reflect.Map:
		default:
			f(fv, p)
		}
	}
}

// ApplyEnv lays the BK_* environment over c: each variable that env reports
// as set replaces its key (set and empty means empty). A value that does not
// parse is an error naming the variable. ApplyEnv does not validate.
func (c *Config) ApplyEnv(env func(string) (string, bool)) error {
	var errs errorList
	origin := maps.Clone(c.origin)
	if origin == nil {
		origin = make(map[string]string)
	}
	walkScalars(reflect.ValueOf(c).Elem(), "", func(v reflect.Value, path string) {
		name := EnvName(path)
		text, ok := env(name)
		if !ok {
			return
		}
		if msg := setScalar(v, text, ""); msg != "" {
			errs.add(path, "from "+name, msg)
			return
		}
		origin[path] = "from " + name
	})
	c.origin = origin
	return errs.err()
}
