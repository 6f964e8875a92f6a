package rules

import (
	"fmt"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Validation of a camera's rules: every error found, each named by its key
// path, so an installer fixes the file in one go.

// Validate checks the section; path is where it sits in the gateway config,
// e.g. "cameras[0].detect". Each problem is an *Error naming its key path
// (several are joined with errors.Join).
func (c *CameraRules) Validate(path string) error {
	var l errorList
	at := func(key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}

	if math.IsNaN(c.FPS) || c.FPS < 0 || c.FPS > MaxFPS {
		l.fail(at("fps"), "%v is outside 0..%d (0 = IDR frames only)", c.FPS, MaxFPS)
	}

	plugins := make(map[string]int, len(c.Plugins))
	if len(c.Plugins) > MaxPlugins {
		l.fail(at("plugins"), "%d plugins, limit %d", len(c.Plugins), MaxPlugins)
	}
	for i, p := range c.Plugins {
		pp := at(fmt.Sprintf("plugins[%d]", i))
		switch {
		case p.Name == "":
			l.fail(pp+".name", "required")
		case !validName(p.Name):
			l.fail(pp+".name", "%q: want lowercase letters, digits, _ and -, at most 64", p.Name)
		default:
			if j, dup := plugins[p.Name]; dup {
				l.fail(pp+".name", "duplicate plugin %q (also plugins[%d])", p.Name, j)
			} else {
				plugins[p.Name] = i
			}
		}
		if len(p.Params) > MaxParams {
			l.fail(pp+".params", "%d params, limit %d", len(p.Params), MaxParams)
		}
		for k, v := range p.Params {
			switch {
			case k == "" || len(k) > maxParamKey || !utf8.ValidString(k):
				l.fail(pp+".params", "key %.70q: want 1..%d bytes of UTF-8", k, maxParamKey)
			case len(v) > maxParamValue || !utf8.ValidString(v):
				l.fail(pp+".params."+k, "want at most %d bytes of UTF-8", maxParamValue)
			}
		}
		if len(p.Labels) > MaxLabelRoles {
			l.fail(pp+".labels", "%d labels, limit %d", len(p.Labels), MaxLabelRoles)
			continue
		}
		for k, lr := range sortedRoles(p.Labels) {
			lr.validate(pp+".labels", k, &l)
		}
	}

	t := c.Tracker
	if math.IsNaN(t.MinIoU) || t.MinIoU < 0 || t.MinIoU > 1 {
		l.fail(at("tracker.min_iou"), "%v is outside 0..1", t.MinIoU)
	}
	if math.IsNaN(t.MinScore) || t.MinScore < 0 || t.MinScore > 1 {
		l.fail(at("tracker.min_score"), "%v is outside 0..1", t.MinScore)
	}
	if t.MaxAge < 0 || t.MaxAge > maxTrackAge {
		l.fail(at("tracker.max_age"), "%v is outside 0..%v", t.MaxAge, maxTrackAge)
	}

	hasHours := c.Schedule.validate(at("schedule"), &l)

	if len(c.Rules) > MaxRules {
		l.fail(at("rules"), "%d rules, limit %d", len(c.Rules), MaxRules)
	}
	if len(c.Rules) > 0 && len(c.Plugins) == 0 {
		l.fail(at("plugins"), "the rules need at least one plugin to feed them")
	}
	for i, r := range c.Rules {
		r.validate(at(fmt.Sprintf("rules[%d]", i)), plugins, hasHours, &l)
	}
	return l.err()
}

// sortedRoles iterates m in label order, so errors come in a stable order.
func sortedRoles(m map[string]LabelRole) func(func(string, LabelRole) bool) {
	return func(yield func(string, LabelRole) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func (lr LabelRole) validate(p, label string, l *errorList) {
	if !validLabel(label) {
		l.fail(p, "label %.70q: want 1..%d bytes of UTF-8 without spaces or control characters", label, maxLabelBytes)
		return
	}
	p += "." + label
	switch lr.Role {
	case RolePerson, RoleAttribute, RoleObject:
	case "":
		l.fail(p+".role", "required (person, attribute or object)")
	default:
		l.fail(p+".role", "%.70q: want person, attribute or object", lr.Role)
	}
	switch lr.Region {
	case "", RegionHead, RegionBody, RegionHands:
	default:
		l.fail(p+".region", "%.70q: want head, body or hands", lr.Region)
	}
	if lr.Role != RoleAttribute {
		if lr.Region != "" {
			l.fail(p+".region", "only an attribute has a region")
		}
		if lr.Means != "" {
			l.fail(p+".means", "only an attribute has a meaning")
		}
	}
	if lr.Means != "" && !validLabel(lr.Means) {
		l.fail(p+".means", "%.70q: want 1..%d bytes of UTF-8 without spaces or control characters", lr.Means, maxLabelBytes)
	}
	if v := lr.Violation; v != "" && attributeOf[v] == "" && !withPerson[v] {
		l.fail(p+".violation", "%.70q: want a violation of a person: no_chef_hat, no_mask, no_uniform, no_gloves, shirtless, smoking or phone", v)
	}
}

func (r Rule) validate(p string, plugins map[string]int, hasHours bool, l *errorList) {
	switch {
	case r.Type == "":
		l.fail(p+".type", "required")
		return
	case notRuleTypes[r.Type] != "":
		l.fail(p+".type", "%s is %s", r.Type, notRuleTypes[r.Type])
		return
	case !wire.KnownType(r.Type):
		l.fail(p+".type", "unknown violation type %.70q", r.Type)
		return
	}
	if r.Label != "" && !validLabel(r.Label) {
		l.fail(p+".label", "%.70q: want 1..%d bytes of UTF-8 without spaces or control characters", r.Label, maxLabelBytes)
	}
	if r.Plugin != "" {
		if _, ok := plugins[r.Plugin]; !ok {
			l.fail(p+".plugin", "%.70q is not in plugins", r.Plugin)
		}
	}
	if math.IsNaN(r.MinScore) || r.MinScore < 0 || r.MinScore > 1 {
		l.fail(p+".min_score", "%v is outside 0..1", r.MinScore)
	}
	if len(r.Zone) > 0 {
		validateZone(p+".zone", r.Zone, l)
	}
	switch r.When {
	case "", WhenAlways, WhenOperating, WhenAfterHours:
	default:
		l.fail(p+".when", "%.70q: want always, operating or after_hours", r.When)
	}
	d := r.WithDefaults()
	switch {
	case r.Type == "rodent" && (r.When != "" && r.When != WhenAlways || len(r.Hours) > 0):
		key := "when"
		if len(r.Hours) > 0 {
			key = "hours"
		}
		l.fail(p+"."+key, "rodent is a violation at any hour: leave it out")
	case len(r.Hours) > 0:
		if r.When != "" {
			l.fail(p+".when", "give when or hours, not both")
		}
		compileHours(p+".hours", r.Hours, allDays, l)
	case d.When == WhenAfterHours && !hasHours:
		l.fail(p+".when", "after_hours needs operating hours in schedule.hours")
	}
	if r.Attribute != "" {
		if attributeOf[r.Type] == "" {
			l.fail(p+".attribute", "only for no_chef_hat, no_mask, no_uniform, no_gloves and shirtless")
		} else if !validLabel(r.Attribute) {
			l.fail(p+".attribute", "%.70q: want 1..%d bytes of UTF-8 without spaces or control characters", r.Attribute, maxLabelBytes)
		}
	}
	frac := func(key string, v float64, only bool, which string) {
		switch {
		case v != 0 && !only:
			l.fail(p+"."+key, "only for %s", which)
		case math.IsNaN(v) || v < 0 || v > 1:
			l.fail(p+"."+key, "%v is outside 0..1", v)
		}
	}
	frac("attribute_score", r.AttributeScore, attributeOf[r.Type] != "", "no_chef_hat, no_mask, no_uniform, no_gloves and shirtless")
	frac("min_overlap", r.MinOverlap, withPerson[r.Type], "smoking and phone")
	switch {
	case r.AbsentFor != 0 && r.Type != "off_post":
		l.fail(p+".absent_for", "only for off_post")
	case r.AbsentFor < 0 || r.AbsentFor > maxAbsentFor:
		l.fail(p+".absent_for", "%v is outside 1s..%v", r.AbsentFor, maxAbsentFor)
	case r.AbsentFor != 0 && r.AbsentFor < time.Second:
		l.fail(p+".absent_for", "%v is outside 1s..%v", r.AbsentFor, maxAbsentFor)
	}
	ps := r.Persistence
	switch {
	case ps.Hits < 0 || ps.Hits > MaxWindow:
		l.fail(p+".persistence.hits", "%d is outside 1..%d", ps.Hits, MaxWindow)
	case ps.Window < 0 || ps.Window > MaxWindow:
		l.fail(p+".persistence.window", "%d is outside 1..%d", ps.Window, MaxWindow)
	case d.Persistence.Hits > d.Persistence.Window:
		l.fail(p+".persistence", "hits %d is more than window %d", d.Persistence.Hits, d.Persistence.Window)
	}
	dur := func(key string, v, limit time.Duration) {
		if v < 0 || v > limit {
			l.fail(p+"."+key, "%v is outside 0..%v", v, limit)
		}
	}
	dur("cooldown", r.Cooldown, maxCooldown)
	dur("end_after", r.EndAfter, maxEndAfter)
	dur("update_every", r.UpdateEvery, maxUpdateEvery)
}

func validateZone(p string, zone [][]float64, l *errorList) {
	switch {
	case len(zone) < 3:
		l.fail(p, "polygon needs at least 3 points, got %d", len(zone))
		return
	case len(zone) > MaxZonePoints:
		l.fail(p, "polygon has %d points, limit %d", len(zone), MaxZonePoints)
		return
	}
	for i, pt := range zone {
		pp := fmt.Sprintf("%s[%d]", p, i)
		if len(pt) != 2 {
			l.fail(pp, "want a point [x, y], got %d numbers", len(pt))
			continue
		}
		for j, v := range pt {
			if math.IsNaN(v) || v < 0 || v > 1 {
				l.fail(pp, "%s %v is outside 0..1 (coordinates are fractions of the picture)", "xy"[j:j+1], v)
			}
		}
	}
}

// validName is a plugin name: [a-z0-9_-], 1..64, starting with a letter or digit.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// validLabel is a detection label: 1..64 bytes of UTF-8 with no spaces or
// control characters.
func validLabel(s string) bool {
	if s == "" || len(s) > maxLabelBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
