// Package rules turns the detections of one camera's frames into violation
// episodes.
//
// A camera's `detect:` section (CameraRules) says which detector plugins run
// on it, its operating hours, and the rules: which detection label, from
// which plugin, above which score, inside which zone and at which time of
// day counts as a hit for which violation type (wire.ViolationTypes). An
// Engine per camera applies them frame by frame: a type starts an episode
// when one of its rules saw N hits in the last M frames (persistence), keeps
// it alive while hits continue (rate-limited updates), ends it when no hit
// came for a while, and then holds that type back for a cooldown, so one
// episode is one alarm: a start (with a snapshot of the frame), a few
// updates, an end.
//
// Rules about people and what they carry (people.go) read each detection's
// role: a person, an attribute of a person (a chef's hat on the head, a
// uniform on the body, gloves on the hands) or an object (a phone, a
// cigarette, a rodent, a bin). The role comes from the detection's attrs
// ("role", "region", "violation"), as a model's manifest declares them, or
// from the camera's label map (plugins[].labels) for a model without roles.
// A small IoU tracker (tracker.go) follows the people across frames, so
// that each person's violation is one episode: one cook without a hat for a
// minute is one alarm with updates, two such cooks are two.
//
// Detections from plugins are outside input: Sanitize drops malformed ones
// (NaN scores, boxes outside the frame, unknown labels, absurd counts) before
// any rule sees them, and the Engine counts them.
//
// Every setting's zero value means its default, documented on the field;
// the defaults of a rule depend on its type (see RuleDefaults).
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // schedules work on a rootfs without /usr/share/zoneinfo

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	yaml "go.yaml.in/yaml/v3"
)

// Limits of one camera's detect section.
const (
	MaxPlugins     = 16
	MaxParams      = 64
	MaxRules       = 64
	MaxZonePoints  = 64
	MaxHourRanges  = 16
	MaxPeriods     = 16
	MaxWindow      = 64 // frames a persistence window may span
	MaxFPS         = 30
	MaxLabelRoles  = 256
	MaxTracks      = 64 // people followed at once on one camera
	DefaultTZ      = "Asia/Shanghai"
	maxLabelBytes  = 64
	maxParamKey    = 64
	maxParamValue  = 1024
	maxDocBytes    = 256 << 10
	defaultScore   = 0.5
	maxCooldown    = 24 * time.Hour
	maxEndAfter    = time.Hour
	maxUpdateEvery = 24 * time.Hour
	maxAbsentFor   = 24 * time.Hour
	maxTrackAge    = 10 * time.Minute
)

// When a rule applies.
const (
	WhenAlways     = "always"      // at any time
	WhenOperating  = "operating"   // inside the schedule's hours (always, when there are none)
	WhenAfterHours = "after_hours" // outside the schedule's hours; needs hours
)

// CameraRules is one camera's `detect:` section.
type CameraRules struct {
	// FPS is how often frames are analysed: 0 (the default) decodes IDR
	// frames only, about one per GOP; N > 0 decodes every frame and samples
	// N per second (at most 30). Smoking and phone use need a few per second.
	FPS float64 `yaml:"fps"`
	// Plugins are the detector plugins run on this camera, in order, with
	// the params passed to them with each frame. Default none: no detection.
	Plugins []PluginRef `yaml:"plugins"`
	// Schedule is the canteen's operating hours for this camera.
	Schedule Schedule `yaml:"schedule"`
	// Tracker follows people across frames, for the rules about people.
	Tracker Tracker `yaml:"tracker"`
	// Rules turn detections into violations. Default none.
	Rules []Rule `yaml:"rules"`
}

// Tracker is the camera's IoU tracker of people: each frame, people are
// matched greedily to the tracks of earlier frames, best overlap first; a
// person matching none starts a new track. A person detection that carries
// a track_id of its plugin's own is followed by that id instead.
type Tracker struct {
	// MinIoU is the least intersection over union that continues a track,
	// in 0..1. Default 0.3.
	MinIoU float64 `yaml:"min_iou"`
	// MaxAge is how long a track lives without being seen; a person who
	// comes back later is a new track, and a new episode. 0..10m.
	// Default 10s.
	MaxAge time.Duration `yaml:"max_age"`
	// MinScore is the least score of a person detection, in 0..1: fainter
	// ones are not people to any rule (nor for off_post). Default 0.5.
	MinScore float64 `yaml:"min_score"`
}

// WithDefaults is t with each zero field set to its default.
func (t Tracker) WithDefaults() Tracker {
	if t.MinIoU == 0 {
		t.MinIoU = 0.3
	}
	if t.MaxAge == 0 {
		t.MaxAge = 10 * time.Second
	}
	if t.MinScore == 0 {
		t.MinScore = defaultScore
	}
	return t
}

// PluginRef names a detector plugin and its params.
type PluginRef struct {
	// Name of the plugin (as it describes itself), e.g. "tamper". Required.
	Name string `yaml:"name"`
	// Params are passed to the plugin with each frame; their meaning is the
	// plugin's. Default none.
	Params map[string]string `yaml:"params"`
	// Labels give the plugin's labels their roles on this camera, for a
	// model whose manifest does not (its detections carry no "role"
	// attr), or to override it: {person: {role: person}, hat: {role:
	// attribute, region: head, means: chef_hat}}. An entry here wins over
	// the detection's attrs. Default none: roles come from the attrs, and
	// a label "person" without one is a person, any other an object.
	Labels map[string]LabelRole `yaml:"labels"`
}

// LabelRole is what one label of a plugin stands for.
type LabelRole struct {
	// Role is person, attribute or object. Required.
	Role string `yaml:"role"`
	// Region is where on a person an attribute is looked for: head (the
	// top 30% of the person's box), body or hands (the whole box). Only
	// for attributes. Default: head for chef_hat and mask, hands for
	// gloves, body for the rest.
	Region string `yaml:"region"`
	// Means is the attribute this label shows, as rules name it
	// (attribute: chef_hat). Only for attributes. Default: the label.
	Means string `yaml:"means"`
	// Violation makes the label a "person without X" class: each such
	// detection is a hit for that violation type (no_chef_hat, ...), on
	// the person it is part of. Default none.
	Violation string `yaml:"violation"`
}

// Schedule is the operating hours, evaluated in Timezone. With no hours at
// all, the canteen counts as always operating (and after_hours rules are
// refused). A range that ends before it starts ("22:00-06:00") runs past
// midnight and belongs to the day it starts on.
type Schedule struct {
	// Timezone is an IANA zone name. Default Asia/Shanghai.
	Timezone string `yaml:"timezone"`
	// Hours are daily ranges "HH:MM-HH:MM" (end exclusive, "24:00" allowed
	// as an end), e.g. ["06:00-13:30", "16:00-20:00"]. Default none.
	Hours []string `yaml:"hours"`
	// Days limits Hours to some weekdays: mon, tue, wed, thu, fri, sat, sun.
	// Default every day.
	Days []string `yaml:"days"`
	// Periods are more hours for other days, e.g. weekends:
	// [{days: [sat, sun], hours: ["08:00-12:00"]}]. Default none.
	Periods []Period `yaml:"periods"`
}

// Period is hours on some weekdays.
type Period struct {
	// Days as in Schedule.Days. Default every day.
	Days []string `yaml:"days"`
	// Hours as in Schedule.Hours. Required.
	Hours []string `yaml:"hours"`
}

// Rule makes detections of one label a violation of one type.
type Rule struct {
	// Type is the violation type, one of wire.ViolationTypes (camera_offline
	// and spool_dropped are raised by the gateway itself, not by rules).
	// Required.
	Type string `yaml:"type"`
	// Label is the detection label that feeds the rule. Default: the type,
	// except after_hours_motion, whose default label is "motion". For the
	// types about people it names the "person without X" class
	// (no_chef_hat, ...) or the object held (smoking, phone); intruder
	// counts any person as well as the label; off_post counts people and
	// has no use for it.
	Label string `yaml:"label"`
	// Plugin, when set, takes detections only from that plugin, which must
	// be listed in plugins. Default: any plugin.
	Plugin string `yaml:"plugin"`
	// MinScore is the lowest score that counts, in 0..1. Default 0.5.
	MinScore float64 `yaml:"min_score"`
	// Zone is a polygon of at least 3 normalised [x, y] points; a detection
	// counts when the bottom-centre of its box is inside it or on its edge
	// (where feet, or a bin's base, stand). Default: the whole picture.
	Zone [][]float64 `yaml:"zone"`
	// When is always, operating or after_hours. Default: after_hours for
	// after_hours_motion; operating for what staff do (no_chef_hat, no_mask,
	// no_uniform, no_gloves, smoking, phone, shirtless, off_post); always
	// for the rest.
	When string `yaml:"when"`
	// Persistence is how many hits in how many frames start an episode.
	// Default {hits: 3, window: 5}; {hits: 2, window: 3} for
	// after_hours_motion.
	Persistence Persistence `yaml:"persistence"`
	// Cooldown: after an episode of this type on this camera ends, no new one
	// starts for this long; for the types about people (no_chef_hat, ...,
	// smoking, phone), for that person's track. Default 5m (10m for
	// camera_* types).
	Cooldown time.Duration `yaml:"cooldown"`
	// EndAfter: an episode ends when no hit came for this long. Default 30s.
	EndAfter time.Duration `yaml:"end_after"`
	// UpdateEvery: at most one update per this interval during an episode.
	// Default 60s.
	UpdateEvery time.Duration `yaml:"update_every"`
	// Hours, when set, are the only times the rule is in force, as daily
	// "HH:MM-HH:MM" ranges in the schedule's timezone, in place of When:
	// e.g. when nobody may be in the store room (intruder). Not for
	// rodent, which is watched at all hours. Default none: When decides.
	Hours []string `yaml:"hours"`
	// Attribute, for no_chef_hat, no_mask, no_uniform, no_gloves and
	// shirtless: the attribute whose absence from a person is the
	// violation. A person is checked only when a plugin on the camera
	// declares a label with that meaning (a model that cannot see hats
	// says nothing about them). Default chef_hat, mask, uniform, gloves,
	// shirt.
	Attribute string `yaml:"attribute"`
	// AttributeScore, for the same types: the least score at which an
	// attribute counts as present, in 0..1; the doubt goes to the cook, so
	// it is below min_score. Default 0.3.
	AttributeScore float64 `yaml:"attribute_score"`
	// MinOverlap, for smoking and phone: the least fraction of the
	// object's box inside a person's box for the object to be that
	// person's, in 0..1 (containment, not IoU: a phone is small beside
	// the hand holding it). Default 0.5.
	MinOverlap float64 `yaml:"min_overlap"`
	// AbsentFor, for off_post: how long nobody may be in the zone while
	// the rule is in force (from when it comes into force, e.g. opening
	// time) before it is a violation, 1s to 24h. Default 5m.
	AbsentFor time.Duration `yaml:"absent_for"`
}

// Persistence is "Hits hits in the last Window observed frames".
type Persistence struct {
	// Hits needed, 1..Window. Default 3 (or the default clipped to Window).
	Hits int `yaml:"hits"`
	// Window in frames, 1..64. Default 5 (or Hits when only Hits is set).
	Window int `yaml:"window"`
}

// attributeOf are the person-attribute types and the attribute whose
// absence each is.
var attributeOf = map[string]string{
	"no_chef_hat": "chef_hat", "no_mask": "mask", "no_uniform": "uniform",
	"no_gloves": "gloves", "shirtless": "shirt",
}

// withPerson are the types of an object held by a person.
var withPerson = map[string]bool{"smoking": true, "phone": true}

// staffTypes are what people do, watched during operating hours.
var staffTypes = map[string]bool{
	"no_chef_hat": true, "no_mask": true, "no_uniform": true, "no_gloves": true,
	"smoking": true, "phone": true, "shirtless": true, "off_post": true,
}

// notRuleTypes are violation types the gateway raises itself.
var notRuleTypes = map[string]string{
	wire.TypeCameraOffline: "raised by the camera session, not by rules",
	wire.TypeSpoolDropped:  "raised by the spool, not by rules",
	wire.TypeSynthetic:     "raised by the load generator, not by rules",
	wire.TypeSnapshot:      "taken on the fleet's snapshot command, not by rules",
}

// RuleDefaults is a rule of type typ with every default filled in.
func RuleDefaults(typ string) Rule {
	r := Rule{
		Type:        typ,
		Label:       typ,
		MinScore:    defaultScore,
		When:        WhenAlways,
		Persistence: Persistence{Hits: 3, Window: 5},
		Cooldown:    5 * time.Minute,
		EndAfter:    30 * time.Second,
		UpdateEvery: 60 * time.Second,
	}
	switch {
	case attributeOf[typ] != "":
		r.When = WhenOperating
		r.Attribute = attributeOf[typ]
		r.AttributeScore = 0.3
	case withPerson[typ]:
		r.When = WhenOperating
		r.MinOverlap = 0.5
	case typ == "off_post":
		r.When = WhenOperating
		r.AbsentFor = 5 * time.Minute
		r.Persistence = Persistence{Hits: 1, Window: 1}
	case typ == "after_hours_motion":
		r.Label = "motion"
		r.When = WhenAfterHours
		r.Persistence = Persistence{Hits: 2, Window: 3}
	case strings.HasPrefix(typ, "camera_"):
		r.Cooldown = 10 * time.Minute
	case staffTypes[typ]:
		r.When = WhenOperating
	}
	return r
}

// WithDefaults is r with each zero field set to its type's default.
func (r Rule) WithDefaults() Rule {
	d := RuleDefaults(r.Type)
	if r.Label == "" {
		r.Label = d.Label
	}
	if r.MinScore == 0 {
		r.MinScore = d.MinScore
	}
	if r.When == "" {
		r.When = d.When
	}
	p := &r.Persistence
	switch {
	case p.Hits == 0 && p.Window == 0:
		*p = d.Persistence
	case p.Window == 0:
		p.Window = max(p.Hits, 1)
	case p.Hits == 0:
		p.Hits = min(d.Persistence.Hits, p.Window)
	}
	if r.Cooldown == 0 {
		r.Cooldown = d.Cooldown
	}
	if r.EndAfter == 0 {
		r.EndAfter = d.EndAfter
	}
	if r.UpdateEvery == 0 {
		r.UpdateEvery = d.UpdateEvery
	}
	if r.Attribute == "" {
		r.Attribute = d.Attribute
	}
	if r.AttributeScore == 0 {
		r.AttributeScore = d.AttributeScore
	}
	if r.MinOverlap == 0 {
		r.MinOverlap = d.MinOverlap
	}
	if r.AbsentFor == 0 {
		r.AbsentFor = d.AbsentFor
	}
	return r
}

// Parse reads a detect section from YAML (the mapping under `detect:`),
// refusing unknown keys, and validates it with paths under "detect".
func Parse(data []byte) (c CameraRules, err error) {
	if len(data) > maxDocBytes {
		return c, &Error{Path: "detect", Msg: fmt.Sprintf("%d bytes, limit %d", len(data), maxDocBytes)}
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = CameraRules{}, &Error{Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return CameraRules{}, &Error{Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if err := c.Validate("detect"); err != nil {
		return CameraRules{}, err
	}
	return c, nil
}

// Roles and regions of LabelRole.
const (
	RolePerson    = "person"
	RoleAttribute = "attribute"
	RoleObject    = "object"
	RegionHead    = "head"
	RegionBody    = "body"
	RegionHands   = "hands"
)
