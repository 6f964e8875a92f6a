package wire

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestViolationTypeNames: every type an event may carry (Event.Validate
// accepts it) has a Chinese and an English name, once, and the list is
// the one SPEC.md §2 gives.
func TestViolationTypeNames(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range ViolationTypes {
		if seen[v.ID] {
			t.Errorf("%s listed twice", v.ID)
		}
		seen[v.ID] = true
		if strings.TrimSpace(v.ZH) == "" || strings.TrimSpace(v.EN) == "" {
			t.Errorf("%s: names %q / %q", v.ID, v.ZH, v.EN)
		}
		if !slices.Contains([]string{"detection", "camera", "gateway", "ops", "test"}, v.Kind) {
			t.Errorf("%s: kind %q", v.ID, v.Kind)
		}
		if _, err := DecodeEvent(event(t, v.ID)); err != nil {
			t.Errorf("an event of type %s: %v", v.ID, err)
		}
	}
	for _, c := range []string{TypeCameraOffline, TypeCameraOccluded, TypeCameraDark, TypeCameraBlurred,
		TypeCameraFrozen, TypeSpoolDropped, TypeSnapshot, TypeSynthetic} {
		if !seen[c] {
			t.Errorf("the gateway emits %s, which has no names", c)
		}
	}
	if _, err := DecodeEvent(event(t, "no_hairnet")); err == nil {
		t.Errorf("an event of a type without names is accepted")
	}

	spec, err := os.ReadFile("../../docs/SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(spec), "### Violation types")
	if !ok {
		t.Fatal("SPEC.md has no violation types section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var ids []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(sec, -1) {
		if m[1] != "attrs" && m[1] != "debug" {
			ids = append(ids, m[1])
		}
	}
	var ours []string
	for _, v := range ViolationTypes {
		ours = append(ours, v.ID)
	}
	if !slices.Equal(ids, ours) {
		t.Errorf("SPEC.md §2 lists\n%v\nfleet/wire has\n%v", ids, ours)
	}
}

// event is an encoded event of type typ.
func event(t *testing.T, typ string) []byte {
	t.Helper()
	b, err := Marshal(Event{V: Version, EventID: "ev-1", Seq: 1, CameraID: "cam-1", Type: typ, Score: 0.5, StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
