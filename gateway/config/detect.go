package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/brightkitchen/brightkitchen/gateway/rules"
	yaml "go.yaml.in/yaml/v3"
)

var detectType = reflect.TypeFor[Detect]()

// Detect is one camera's `detect:` section: the detector plugins that run
// on it, its operating hours and its rules, exactly as package rules
// defines it (rules.CameraRules; gateway/rules/testdata/detect.yaml shows
// every key). The zero Detect is an absent section: no detection on that
// camera.
//
// A Detect keeps the section in a canonical encoded form, so it is
// comparable: two cameras with the same section are ==, and Camera stays
// comparable. The BK_* environment does not reach it.
type Detect struct {
	// doc is yaml.Marshal of the rules.CameraRules; "" when absent.
	doc string
}

// NewDetect is a present detect section holding r. It does not validate;
// Config.Validate does.
func NewDetect(r rules.CameraRules) (Detect, error) {
	b, err := yaml.Marshal(r)
	if err != nil {
		return Detect{}, fmt.Errorf("encode detect section: %w", err)
	}
	return Detect{doc: string(b)}, nil
}

// IsSet reports whether the camera has a detect section.
func (d Detect) IsSet() bool { return d.doc != "" }

// Rules is the section, a fresh copy on each call (nothing it holds is
// shared with the Config). An absent section is the zero CameraRules: no
// plugins, no rules.
func (d Detect) Rules() rules.CameraRules {
	var r rules.CameraRules
	if d.doc == "" {
		return r
	}
	if err := yaml.Unmarshal([]byte(d.doc), &r); err != nil {
		// doc is only ever yaml.Marshal of a CameraRules (NewDetect)
		panic("config: detect section does not decode: " + err.Error())
	}
	return r
}

// detect decodes a camera's detect section n into v, a Detect. The section
// is first walked against the schema of rules.CameraRules, so an unknown key
// or a value of the wrong type is named with its path and line like any
// other key; then rules.Parse, which owns the section, decodes and checks
// it, and its problems are named under path.
func (d *decoder) detect(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "want a mapping, got %s", describe(n))
		return
	}
	before := len(d.errs.errs)
	var scratch rules.CameraRules
	d.mapping(n, reflect.ValueOf(&scratch).Elem(), path, make(map[string]int), 0)
	if len(d.errs.errs) > before {
		return
	}
	// the section may use anchors defined elsewhere in the document:
	// expand them so that it stands alone
	flat, ok := expand(n)
	if !ok {
		d.fail(path, n, "document too complex (aliases nested too deep or expanding too far)")
		return
	}
	doc, err := marshalNode(flat)
	if err != nil {
		d.fail(path, n, "%v", err)
		return
	}
	r, err := rules.Parse(doc)
	if err != nil {
		addRulesErrors(&d.errs, d.origin, "detect", path, err)
		return
	}
	det, err := NewDetect(r)
	if err != nil {
		d.fail(path, n, "%v", err)
		return
	}
	v.Set(reflect.ValueOf(det))
}

// expand copies n with every alias replaced by a copy of what it points
// to, and anchors dropped. The walk of the same section has already charged
// the document's node budget for each of these nodes; expand has a bound of
// its own (maxNodes) so that it cannot run away either.
func expand(n *yaml.Node) (*yaml.Node, bool) {
	budget := maxNodes
	var copyNode func(n *yaml.Node, depth int) (*yaml.Node, bool)
	copyNode = func(n *yaml.Node, depth int) (*yaml.Node, bool) {
		for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
			if i > 16 {
				return nil, false
			}
			n = n.Alias
		}
		if budget--; n == nil || budget < 0 || depth > maxNodes {
			return nil, false
		}
		c := &yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value, Line: n.Line, Column: n.Column}
		if len(n.Content) > 0 {
			c.Content = make([]*yaml.Node, 0, len(n.Content))
		}
		for _, child := range n.Content {
			x, ok := copyNode(child, depth+1)
			if !ok {
				return nil, false
			}
			c.Content = append(c.Content, x)
		}
		return c, true
	}
	return copyNode(n, 0)
}

// marshalNode is yaml.Marshal(n), with a failure of the encoder as an error.
func marshalNode(n *yaml.Node) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("encode detect section: %v", r)
		}
	}()
	b, err = yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode detect section: %w", err)
	}
	return b, nil
}

// addRulesErrors adds the problems package rules reported (one *rules.Error
// or several joined). Paths at or under from are moved under to; a problem
// without a path is put at to. Each takes the line of its key, or of the
// nearest enclosing key that has one.
func addRulesErrors(l *errorList, origin map[string]string, from, to string, err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		path, msg := to, e.Error()
		var re *rules.Error
		if errors.As(e, &re) {
			msg = re.Msg
			if rest, ok := strings.CutPrefix(re.Path, from); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				path = to + rest
			} else if re.Path != "" {
				path = re.Path
			}
		}
		l.add(path, where(origin, path), msg)
	}
}

// where is the origin of path, or of the nearest key above it that has one.
func where(origin map[string]string, path string) string {
	for path != "" {
		if w := origin[path]; w != "" {
			return w
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return ""
}
