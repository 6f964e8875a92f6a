package push

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Subscription is what one user wants pushed to one channel.
type Subscription struct {
	UserID    string `json:"user_id"`
	ChannelID string `json:"channel_id"`
	// Kinds are item kinds (ItemKinds); none means all.
	Kinds []string `json:"kinds"`
	// Types are violation types; none means all. They filter the items
	// that have a type (alarms, and notices about an alarm).
	Types []string `json:"types"`
	// MinSeverity is the lowest severity pushed ("" means low: all).
	MinSeverity string `json:"min_severity,omitempty"`
	// Phone is where an SMS channel sends this user's messages (digits,
	// an optional leading '+'); none for other kinds.
	Phone     string    `json:"phone,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Channel's name and kind, when listed.
	ChannelName string `json:"channel_name,omitempty"`
	ChannelKind string `json:"channel_kind,omitempty"`
}

var phoneChars = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

// Validate checks a subscription for a channel of kind; the error names
// the field.
func (s Subscription) Validate(kind string) error {
	if len(s.Kinds) > len(ItemKinds) {
		return invalid("kinds: too many")
	}
	for _, k := range s.Kinds {
		if !slices.Contains(ItemKinds, k) {
			return invalid("kinds: %q is not one of %s", cut(k, 32), strings.Join(ItemKinds, ", "))
		}
	}
	if len(s.Types) > len(wire.ViolationTypes) {
		return invalid("types: too many")
	}
	for _, t := range s.Types {
		if !slices.ContainsFunc(wire.ViolationTypes, func(v wire.ViolationType) bool { return v.ID == t }) {
			return invalid("types: %q is not a violation type", cut(t, 32))
		}
	}
	if s.MinSeverity != "" && !slices.Contains(Severities, s.MinSeverity) {
		return invalid("min_severity %q: want low, medium or high", cut(s.MinSeverity, 32))
	}
	switch {
	case kind == KindSMS && !phoneChars.MatchString(s.Phone):
		return invalid("phone: an SMS channel needs a phone number (digits, optional +)")
	case kind != KindSMS && s.Phone != "":
		return invalid("phone: only for SMS channels")
	}
	return nil
}

// Wants reports whether the item passes the subscription's filters.
func (s Subscription) Wants(it Item) bool {
	if len(s.Kinds) > 0 && !slices.Contains(s.Kinds, it.Kind) {
		return false
	}
	if len(s.Types) > 0 && it.ViolationType != "" && !slices.Contains(s.Types, it.ViolationType) {
		return false
	}
	if s.MinSeverity != "" && it.ViolationType != "" && severityRank(it.Severity) < severityRank(s.MinSeverity) {
		return false
	}
	return true
}

// Holds reports whether a channel's scope takes the item: a shared
// channel only its canteen's or district's items, a user's or an
// admin's any (the subscriber's own scope decides).
func (c Channel) Holds(it Item) bool {
	switch c.Scope {
	case ScopeCanteen:
		return c.ScopeID == it.CanteenID
	case ScopeDistrict:
		return c.ScopeID == it.District
	}
	return true
}

func joinList(l []string) string { return strings.Join(l, ",") }

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}
