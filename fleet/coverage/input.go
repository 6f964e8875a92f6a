package coverage

import "time"

// Input is everything Compute reads, loaded by the caller. Order within the
// slices does not matter, except for each camera's Intervals.
type Input struct {
	Canteens   []Canteen   `json:"canteens"`
	Gateways   []Gateway   `json:"gateways"`
	Cameras    []Camera    `json:"cameras"`
	Violations []Violation `json:"violations"`
	// Complaints are the public's tickets (fleet/complaints), for the
	// reply rates.
	Complaints []Complaint `json:"complaints,omitempty"`
}

// Canteen is a registered canteen.
type Canteen struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	District string `json:"district"`
	// Active canteens are in scope; inactive ones are ignored by every rate.
	Active bool `json:"active"`
	// RequiredAreas must each be mapped to a camera (Camera.Area, compared
	// exactly). Repeats are ignored.
	RequiredAreas []string `json:"required_areas"`
	// Hours are the operating hours, in TZ.
	Hours Week `json:"operating_hours"`
	// TZ is an IANA time zone name; "" means DefaultTZ.
	TZ string `json:"tz,omitempty"`
}

// DefaultTZ is the time zone of a canteen with no TZ.
const DefaultTZ = "Asia/Shanghai"

// Gateway is a gateway with its MQTT sessions.
type Gateway struct {
	ID        string `json:"id"`
	CanteenID string `json:"canteen_id"`
	// Enrolled gateways' cameras count; others' are ignored.
	Enrolled bool `json:"enrolled"`
	// Sessions are the gateway's connections, in any order (registry.Registry.Sessions
	// gives them oldest first). A camera is healthy only inside one.
	Sessions []Session `json:"sessions"`
}

// Session mirrors registry.Session: one connection of a gateway, Disconnected
// zero while open. The fields are the registry's, so a registry.Session converts
// directly: coverage.Session(s).
type Session struct {
	Session      uint64    `json:"session"`
	Connected    time.Time `json:"connected_at"`
	Disconnected time.Time `json:"disconnected_at,omitzero"`
}

// Camera is a camera mapped (or not yet) to an area of a canteen.
type Camera struct {
	ID        string `json:"camera_id"`
	GatewayID string `json:"gateway_id"`
	// CanteenID is the camera's canteen; "" means its gateway's.
	CanteenID string `json:"canteen_id,omitempty"`
	// Area is the kitchen area the camera watches; "" is unmapped.
	Area string `json:"area"`
	// Intervals are the camera's health intervals in time order (by Start,
	// then Seq), as registry.Registry.CameraIntervals returns them. Compute reports
	// ErrInput when it meets one out of order.
	Intervals []Interval `json:"intervals"`
}

// Interval mirrors registry.Interval: a span of one camera's health,
// [Start, End), End zero while open. The fields are the registry's, so a
// registry.Interval converts directly: coverage.Interval(iv).
//
// Each status holds until the next one starts: an interval is cut at the
// next interval's Start when its End is later or zero, and an open interval
// that is the camera's last lasts until Query.Now.
type Interval struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Online  bool      `json:"online"`
	Picture string    `json:"picture"`
	Seq     uint64    `json:"seq"`
}

// Violation is one alarm (an episode, not each of its event messages) with
// its review and rectification state.
type Violation struct {
	ID        int64     `json:"id"`
	CanteenID string    `json:"canteen_id"`
	RaisedAt  time.Time `json:"raised_at"`
	// ReviewedAt is when a regulator confirmed or dismissed it; zero if not
	// yet.
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	// Verdict is VerdictConfirmed, VerdictDismissed or "" (not reviewed).
	Verdict string `json:"verdict,omitempty"`
	// RectificationAcceptedAt is when the regulator accepted the canteen's
	// rectification; zero if not (yet).
	RectificationAcceptedAt time.Time `json:"rectification_accepted_at,omitzero"`
}

// Verdicts of a review.
const (
	VerdictConfirmed = "confirmed"
	VerdictDismissed = "dismissed"
)

// Complaint is one ticket of the public's complaint channel, as the reply
// rates read it. A ticket is answered by a reply or by its rejection
// (with a reason, which its filer reads): both count as replied.
type Complaint struct {
	ID         int64     `json:"id"`
	CanteenID  string    `json:"canteen_id"`
	ReceivedAt time.Time `json:"received_at"`
	// AnsweredAt is when it was replied to or rejected; zero if not yet.
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	// ReplyDue is its reply deadline, set when it was filed.
	ReplyDue time.Time `json:"reply_due"`
}
