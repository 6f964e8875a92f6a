package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The document is decoded by walking the yaml.v3 node tree against the
// schema (the yaml tags of Config), rather than with yaml's own Decode, so
// that every error can name its key path and line, unknown keys are caught
// at any depth, and duplicate keys are refused.

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[ByteSize]()
	cameraType   = reflect.TypeFor[Camera]()
	pluginType   = reflect.TypeFor[Plugin]()
)

// elemDefault is what a new entry of a list of t starts from.
func elemDefault(t reflect.Type) (reflect.Value, bool) {
	switch t {
	case cameraType:
		return reflect.ValueOf(defaultCamera()), true
	case pluginType:
		return reflect.ValueOf(defaultPlugin()), true
	}
	return reflect.Value{}, false
}

// maxNodes bounds the work one document may cause (aliases and merge keys
// can make a small document expand).
const maxNodes = 100000

type decoder struct {
	errs   errorList
	origin map[string]string
	nodes  int
}

// decodeNode lays a parsed document (nil for an empty one) over c.
func (c *Config) decodeNode(root *yaml.Node) error {
	d := &decoder{origin: make(map[string]string)}
	if root != nil {
		d.value(root, reflect.ValueOf(c).Elem(), "")
	}
	c.origin = d.origin
	return d.errs.err()
}

// parseYAML parses exactly one YAML document; nil means an empty document.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a config that
		// crashes the parser is a bad config, not a crash of the gateway.
		if r := recover(); r != nil {
			root, err = nil, &Error{Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, &Error{Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{Msg: "invalid YAML: more than one document"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

func line(n *yaml.Node) string {
	if n == nil || n.Line == 0 {
		return ""
	}
	return "line " + strconv.Itoa(n.Line)
}

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	d.errs.add(path, line(n), fmt.Sprintf(format, args...))
}

// resolve follows aliases and counts the work done.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 16 {
			return nil, false
		}
		n = n.Alias
	}
	d.nodes++
	return n, n != nil && d.nodes <= maxNodes
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// value decodes n into v. A null leaves v as it is (its default).
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.errs.full() {
		return
	}
	keyNode := n
	n, ok := d.resolve(n)
	if !ok {
		d.fail(path, keyNode, "document too complex (aliases nested too deep or expanding too far)")
		return
	}
	if isNull(n) {
		return
	}
	if path != "" {
		if _, seen := d.origin[path]; !seen {
			d.origin[path] = line(n)
		}
	}
	switch {
	case v.Type() == detectType:
		d.detect(n, v, path)
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n, "want a mapping, got %s", describe(n))
			return
		}
		d.mapping(n, v, path, make(map[string]int), 0)
	case v.Kind() == reflect.Map:
		// string-keyed maps: models, and a detect section's params
		if n.Kind != yaml.MappingNode {
			d.fail(path, n, "want a mapping, got %s", describe(n))
			return
		}
		if len(n.Content)/2 > MaxCameras {
			d.fail(path, n, "%d entries, limit %d", len(n.Content)/2, MaxCameras)
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		d.mapping(n, v, path, make(map[string]int), 0)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, "want a list, got %s", describe(n))
			return
		}
		if len(n.Content) > MaxCameras {
			d.fail(path, n, "%d entries, limit %d", len(n.Content), MaxCameras)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			elem := s.Index(i)
			if def, ok := elemDefault(elem.Type()); ok {
				elem.Set(def)
			}
			d.value(item, elem, fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(path, n, "want %s, got %s", want(v.Type()), describe(n))
			return
		}
		if msg := setScalar(v, n.Value, n.ShortTag()); msg != "" {
			d.fail(path, n, "%s", msg)
		}
	}
}

// mapping decodes the keys of n into v, a struct or a map with string keys.
// seen maps keys set explicitly at this level to their line, for
// duplicates; merge keys ("<<") are applied first, so explicit keys override
// them.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, seen map[string]int, depth int) {
	if depth > 8 {
		d.fail(path, n, "merge keys nested too deep")
		return
	}
	isMap := v.Kind() == reflect.Map
	var fields map[string]int
	if !isMap {
		fields = fieldsOf(v.Type())
	}
	// merges first, lowest priority first
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Value != "<<" || k.ShortTag() != "!!merge" {
			continue
		}
		src, ok := d.resolve(n.Content[i+1])
		if !ok {
			d.fail(path, k, "document too complex")
			return
		}
		var srcs []*yaml.Node
		switch src.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{src}
		case yaml.SequenceNode:
			for j := len(src.Content) - 1; j >= 0; j-- {
				srcs = append(srcs, src.Content[j])
			}
		default:
			d.fail(path, k, "merge key wants a mapping or a list of mappings, got %s", describe(src))
			continue
		}
		for _, m := range srcs {
			m, ok := d.resolve(m)
			if !ok || m.Kind != yaml.MappingNode {
				d.fail(path, k, "merge key wants a mapping or a list of mappings")
				continue
			}
			d.mapping(m, v, path, make(map[string]int), depth+1)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			continue
		}
		k, ok := d.resolve(k)
		if !ok {
			d.fail(path, n.Content[i], "document too complex (aliases nested too deep or expanding too far)")
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, n.Content[i], "keys must be plain names")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(path, k, "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		if isMap {
			p := join(path, k.Value)
			d.origin[p] = line(k)
			key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
			elem := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(key); old.IsValid() {
				elem.Set(old) // from a merge key
			}
			d.value(val, elem, p)
			v.SetMapIndex(key, elem)
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := suggest(k.Value, fields); s != "" {
				msg += fmt.Sprintf(", did you mean %q?", s)
			}
			d.fail(path, k, "%s", msg)
			continue
		}
		p := join(path, k.Value)
		d.origin[p] = line(k)
		d.value(val, v.Field(idx), p)
	}
}

type field struct {
	name  string
	index int
}

// fieldList lists the yaml key names of struct type t in declaration order.
func fieldList(t reflect.Type) []field {
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		out = append(out, field{name, i})
	}
	return out
}

// fieldsOf maps the yaml key names of struct type t to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for _, f := range fieldList(t) {
		m[f.name] = f.index
	}
	return m
}

// suggest returns the known key closest to k, if one is close.
func suggest(k string, fields map[string]int) string {
	best, bestD := "", 3
	lk := strings.ToLower(k)
	for name := range fields {
		dist := editDistance(lk, name)
		if strings.ReplaceAll(name, "_", "") == strings.ReplaceAll(lk, "_", "") {
			dist = 0
		}
		if dist < bestD || (dist == bestD && name < best) {
			best, bestD = name, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration like "30s"`
	case t == sizeType:
		return `a size like "256MiB" or a number of bytes`
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

// setScalar parses text into v. tag is the YAML tag of the scalar ("!!str",
// "!!int", ...); "" means the text came from the environment and may be
// anything. It returns "" or what is wrong.
func setScalar(v reflect.Value, text, tag string) string {
	t := v.Type()
	bad := func() string { return fmt.Sprintf("want %s, got %s", want(t), strconv.Quote(text)) }
	switch {
	case t == durationType:
		if tag != "" && tag != "!!str" {
			return bad()
		}
		dur, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return bad()
		}
		v.SetInt(int64(dur))
		return ""
	case t == sizeType:
		if tag != "" && tag != "!!str" && tag != "!!int" {
			return bad()
		}
		sz, err := ParseSize(text)
		if err != nil {
			return bad()
		}
		v.SetInt(int64(sz))
		return ""
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		if tag != "" && tag != "!!bool" {
			return bad()
		}
		b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(text)))
		if err != nil {
			return bad()
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if tag != "" && tag != "!!int" {
			return bad()
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(text), "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			return bad()
		}
		v.SetInt(i)
	case reflect.Float64:
		if tag != "" && tag != "!!int" && tag != "!!float" {
			return bad()
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(text), "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		v.SetFloat(f)
	default:
		return "unsupported type " + t.String()
	}
	return ""
}
