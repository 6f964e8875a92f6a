package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The JSON form goes through the same schema walk as the YAML file. It is
// tokenized by encoding/json, not by yaml.v3: YAML 1.2 is a superset of JSON
// on paper, but yaml.v3 refuses some valid JSON (the escape "\/", surrogate
// pairs such as "\ud83d\ude00", a tab before the first token).

// maxJSONDepth bounds nesting in a JSON document.
const maxJSONDepth = 32

// parseJSON turns a JSON document into the equivalent yaml.Node tree, with
// line numbers.
func parseJSON(b []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	// offsets only grow: count the newlines since the last call
	lastOff, lastLine := 0, 1
	lineAt := func() int {
		off := min(int(dec.InputOffset()), len(b))
		if off > lastOff {
			lastLine += bytes.Count(b[lastOff:off], []byte{'\n'})
			lastOff = off
		}
		return lastLine
	}
	var parse func(depth int) (*yaml.Node, error)
	parse = func(depth int) (*yaml.Node, error) {
		ln := lineAt()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if depth > maxJSONDepth {
			return nil, errors.New("nested too deep")
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: ln}
				for dec.More() {
					kl := lineAt()
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					key, _ := kt.(string) // encoding/json guarantees a string key
					v, err := parse(depth + 1)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: kl}, v)
				}
				if _, err := dec.Token(); err != nil {
					return nil, err
				}
				return n, nil
			case '[':
				n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: ln}
				for dec.More() {
					v, err := parse(depth + 1)
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, v)
				}
				if _, err := dec.Token(); err != nil {
					return nil, err
				}
				return n, nil
			}
			return nil, fmt.Errorf("unexpected %v", t)
		case string:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t, Line: ln}, nil
		case json.Number:
			tag := "!!int"
			if _, err := strconv.ParseInt(string(t), 10, 64); err != nil {
				tag = "!!float"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t), Line: ln}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t), Line: ln}, nil
		case nil:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: ln}, nil
		}
		return nil, fmt.Errorf("unexpected token %v", tok)
	}
	root, err := parse(0)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, &Error{Msg: "invalid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Msg: "invalid JSON: trailing data after the document"}
	}
	return root, nil
}

// JSON is the config in its JSON form, as FromJSON reads it: the same keys
// as the YAML file, durations as strings ("30s"), sizes as strings
// ("256MiB"). A camera's detect section is written with the keys of
// rules.CameraRules that are not zero (a zero value means the default
// there), and left out when the camera has none. It carries secrets; see
// Redacted.
func (c Config) JSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, reflect.ValueOf(c), false); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeJSON writes v; with sparse, struct fields that are zero, empty lists
// and empty maps are left out.
func encodeJSON(buf *bytes.Buffer, v reflect.Value, sparse bool) error {
	t := v.Type()
	switch {
	case t == durationType:
		return writeJSONString(buf, time.Duration(v.Int()).String())
	case t == sizeType:
		return writeJSONString(buf, ByteSize(v.Int()).String())
	case t == detectType:
		return encodeJSON(buf, reflect.ValueOf(v.Interface().(Detect).Rules()), true)
	}
	switch t.Kind() {
	case reflect.Struct:
		buf.WriteByte('{')
		n := 0
		for _, f := range fieldList(t) {
			fv := v.Field(f.index)
			if fv.Type() == detectType && !fv.Interface().(Detect).IsSet() {
				continue // absent: no detection
			}
			if sparse && (fv.IsZero() || (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			if err := writeJSONString(buf, f.name); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeJSON(buf, fv, sparse); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", t)
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSONString(buf, k.String()); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeJSON(buf, v.MapIndex(k), sparse); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case reflect.Slice:
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeJSON(buf, v.Index(i), sparse); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case reflect.String:
		return writeJSONString(buf, v.String())
	case reflect.Bool:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		b, err := json.Marshal(v.Float())
		if err != nil {
			return err
		}
		buf.Write(b)
	default:
		return fmt.Errorf("unsupported type %s", t)
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
