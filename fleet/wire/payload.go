package wire

// Long file: every payload of the contract beside its decoder and limits,
// so a type and what the fleet accepts of it are read together.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxPayload is the largest JSON payload either side accepts (snapshots,
// which are binary, have their own limit, MaxSnapshot).
const (
	MaxPayload  = 256 << 10
	MaxSnapshot = 8 << 20
	MaxBoxes    = 64
	MaxSeqs     = 10000
	// MaxEpoch is the longest spool epoch id accepted.
	MaxEpoch = 64
)

// ErrPayload wraps every decoding failure, so callers can count them.
var ErrPayload = errors.New("bad payload")

// State is published retained on connect; the Last Will repeats it with
// Online false and the same Session, so a stale Will can be told apart.
type State struct {
	V         int       `json:"v"`
	Online    bool      `json:"online"`
	Session   uint64    `json:"session"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	// Epoch names the gateway's spool (a random id made when the spool file
	// is created): Session counts within one epoch, so a new spool (new SD
	// card, deleted file) starts again at 1 under a new epoch. Empty from
	// gateways that predate epochs.
	Epoch string `json:"epoch,omitempty"`
	// Arch is the Go architecture the running gateway was built for
	// (amd64, arm64, arm): the fleet picks a release bundle by it. Empty
	// from gateways that predate rollouts; at most MaxArch bytes of
	// lowercase letters and digits.
	Arch string `json:"arch,omitempty"`
}

// MaxArch bounds State.Arch.
const MaxArch = 16

// Picture states of a camera.
const (
	PictureOK       = "ok"
	PictureOccluded = "occluded"
	PictureDark     = "dark"
	PictureBlurred  = "blurred"
	PictureFrozen   = "frozen"
	PictureUnknown  = "unknown"
)

func validPicture(p string) bool {
	switch p {
	case PictureOK, PictureOccluded, PictureDark, PictureBlurred, PictureFrozen, PictureUnknown:
		return true
	}
	return false
}

// CameraHealth is one camera's health in a heartbeat.
type CameraHealth struct {
	CameraID       string  `json:"camera_id"`
	Online         bool    `json:"online"`
	FPS            float64 `json:"fps"`
	Kbps           float64 `json:"kbps"`
	LastFrameAgeMs int64   `json:"last_frame_age_ms"`
	Picture        string  `json:"picture"`
	Area           string  `json:"area,omitempty"`
	Public         bool    `json:"public,omitempty"`
}

// SpoolStats is the outbox as reported in a heartbeat.
type SpoolStats struct {
	Depth            int    `json:"depth"`
	Bytes            int64  `json:"bytes"`
	DroppedSnapshots uint64 `json:"dropped_snapshots"`
	DroppedRecords   uint64 `json:"dropped_records"`
	// WriteErrors counts records (with their snapshots) the gateway could
	// not spool since it started (disk full, I/O error): lost, not sent.
	WriteErrors uint64 `json:"write_errors,omitempty"`
	// DiskFull is set while the last spool write failed for lack of disk
	// space; the next write that succeeds clears it.
	DiskFull bool `json:"disk_full,omitempty"`
}

// System is the board's health in a heartbeat.
type System struct {
	CPUPercent   float64 `json:"cpu_percent"`
	MemUsedBytes uint64  `json:"mem_used_bytes"`
	MemTotal     uint64  `json:"mem_total_bytes"`
	DiskFree     uint64  `json:"disk_free_bytes"`
	TempC        float64 `json:"temp_c,omitempty"`
	UptimeS      int64   `json:"uptime_s"`
}

// Heartbeat is published every 30 s at QoS 0.
type Heartbeat struct {
	V       int            `json:"v"`
	At      time.Time      `json:"at"`
	Session uint64         `json:"session"`
	Cameras []CameraHealth `json:"cameras"`
	Spool   SpoolStats     `json:"spool"`
	System  System         `json:"system"`
	// Quarantined names detector plugins the gateway has stopped relaunching.
	Quarantined []string `json:"quarantined,omitempty"`
	// PluginErrors are the detector plugins that are not running, each
	// with the error that stopped it (quarantined ones included): a crash,
	// a failed launch, or the plugin's own refusal, such as a model whose
	// sha256 is not the one the config chose.
	PluginErrors []PluginError `json:"plugin_errors,omitempty"`
	// Epoch is the spool's epoch (see State).
	Epoch string `json:"epoch,omitempty"`
	// OTA is the gateway's update state; absent from gateways without OTA.
	OTA *OTAStatus `json:"ota,omitempty"`
}

// OTA states of a gateway.
const (
	OTAIdle        = "idle"        // running a confirmed version, nothing under way
	OTADownloading = "downloading" // fetching a bundle (Progress)
	OTAInstalling  = "installing"  // checking and unpacking it into the inactive slot
	OTARestarting  = "restarting"  // switched; restarting into the new version
	OTATrial       = "trial"       // the new version runs and has not confirmed yet
)

// OTAStatus is the gateway's update state in a heartbeat.
type OTAStatus struct {
	// Version is the running version; Slot the slot it runs from ("a",
	// "b", or "" for the packaged binary).
	Version string `json:"version"`
	Slot    string `json:"slot"`
	State   string `json:"state"`
	// Target is the version being installed or on trial.
	Target string `json:"target,omitempty"`
	// Progress is the download's percentage, 0 to 100.
	Progress int `json:"progress,omitempty"`
	// Last is how the last update ended.
	Last *OTAResult `json:"last,omitempty"`
}

// OTA outcomes.
const (
	OTAConfirmed  = "confirmed"
	OTARolledBack = "rolled_back"
	OTAFailed     = "failed"
)

// OTAResult is how an update ended: confirmed, rolled back (Reason says
// why: a crash loop, not back online with its cameras in time) or failed
// before the switch.
type OTAResult struct {
	CmdID   string    `json:"cmd_id,omitempty"`
	Version string    `json:"version"`
	From    string    `json:"from"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// MaxOTAText bounds each text of OTAStatus.
const MaxOTAText = 1024

func checkOTA(o *OTAStatus) error {
	if o == nil {
		return nil
	}
	texts := []string{o.Version, o.Slot, o.State, o.Target}
	if o.Last != nil {
		texts = append(texts, o.Last.CmdID, o.Last.Version, o.Last.From, o.Last.Outcome, o.Last.Reason)
	}
	for _, t := range texts {
		if len(t) > MaxOTAText {
			return bad(KindHeartbeat, "ota: a text of %d bytes, limit %d", len(t), MaxOTAText)
		}
	}
	switch o.State {
	case OTAIdle, OTADownloading, OTAInstalling, OTARestarting, OTATrial:
	default:
		return bad(KindHeartbeat, "ota.state %q unknown", o.State)
	}
	if o.Progress < 0 || o.Progress > 100 {
		return bad(KindHeartbeat, "ota.progress %d out of 0..100", o.Progress)
	}
	if o.Last != nil {
		switch o.Last.Outcome {
		case OTAConfirmed, OTARolledBack, OTAFailed:
		default:
			return bad(KindHeartbeat, "ota.last.outcome %q unknown", o.Last.Outcome)
		}
	}
	return nil
}

// OTAInstallArgs are the args of ota.install: the bundle's URL (http or
// https, on the fleet the gateway is enrolled with), its sha256 and size,
// and Force to allow a downgrade or a reinstall of the running version.
type OTAInstallArgs struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Force  bool   `json:"force,omitempty"`
}

// PluginError is a detector plugin that is not running, and why.
type PluginError struct {
	Name string `json:"name"`
	// Error is at most MaxPluginError bytes of UTF-8.
	Error string `json:"error"`
}

// MaxPluginError bounds PluginError.Error; the gateway cuts longer ones.
const MaxPluginError = 1024

// CameraStatus is one change of a camera's health, spooled, so the fleet can
// rebuild health intervals after an outage. Seq is the spool's sequence.
type CameraStatus struct {
	V          int       `json:"v"`
	Seq        uint64    `json:"seq"`
	CameraID   string    `json:"camera_id"`
	At         time.Time `json:"at"`
	Online     bool      `json:"online"`
	Picture    string    `json:"picture"`
	Historical bool      `json:"historical,omitempty"`
	// Epoch is the spool's epoch: Seq is unique only within it.
	Epoch string `json:"epoch,omitempty"`
}

// Box is a normalised rectangle, each field in 0..1.
type Box struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	Label string  `json:"label,omitempty"`
	Score float64 `json:"score,omitempty"`
}

// SnapshotRef names the JPEG that follows an event on snapshot/{event_id}.
type SnapshotRef struct {
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

// Event phases: one episode is one alarm, started once, updated, ended.
const (
	PhaseStart  = "start"
	PhaseUpdate = "update"
	PhaseEnd    = "end"
)

// Event is a violation. EventID is a ULID; Seq is per gateway and monotonic.
type Event struct {
	V          int          `json:"v"`
	EventID    string       `json:"event_id"`
	Seq        uint64       `json:"seq"`
	CameraID   string       `json:"camera_id"`
	Type       string       `json:"type"`
	Score      float64      `json:"score"`
	Boxes      []Box        `json:"boxes"`
	StartedAt  time.Time    `json:"started_at"`
	EndedAt    *time.Time   `json:"ended_at,omitempty"`
	Phase      string       `json:"phase,omitempty"`
	Episode    string       `json:"episode,omitempty"` // the event_id of the episode's start
	Historical bool         `json:"historical"`
	Snapshot   *SnapshotRef `json:"snapshot,omitempty"`
	// SnapshotDropped is true when the spool dropped the JPEG to stay within
	// its byte budget; the event itself is intact.
	SnapshotDropped bool              `json:"snapshot_dropped,omitempty"`
	Attrs           map[string]string `json:"attrs,omitempty"`
	// Epoch is the spool's epoch: Seq is unique only within it.
	Epoch string `json:"epoch,omitempty"`
}

// Ack is sent by the fleet after it committed the named records.
type Ack struct {
	V    int      `json:"v"`
	Seqs []uint64 `json:"seqs,omitempty"`
	Upto uint64   `json:"upto,omitempty"`
	// Epoch is the epoch of the acknowledged records; a gateway ignores an
	// ack for another epoch than its spool's (omitted: any epoch).
	Epoch string `json:"epoch,omitempty"`
}

// LiveStart is the args of the live.start command: publish the camera over
// WHIP to WHIPURL with Token as the bearer token; Session names it.
type LiveStart struct {
	CameraID string `json:"camera_id"`
	Session  string `json:"session"`
	Token    string `json:"token"`
	WHIPURL  string `json:"whip_url"`
}

// LiveStop is the args of the live.stop command.
type LiveStop struct {
	CameraID string `json:"camera_id"`
	Session  string `json:"session"`
}

// Command names.
const (
	CmdLiveStart   = "live.start"
	CmdLiveStop    = "live.stop"
	CmdSnapshot    = "snapshot"
	CmdReboot      = "reboot"
	CmdOTAInstall  = "ota.install"
	CmdLogsUpload  = "logs.upload"
	CmdCameraProbe = "camera.probe"
	CmdPing        = "ping"
)

// Cmd is a command to a gateway; a repeated CmdID is never run twice.
type Cmd struct {
	V         int             `json:"v"`
	CmdID     string          `json:"cmd_id"`
	Name      string          `json:"name"`
	Args      json.RawMessage `json:"args,omitempty"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// Command statuses.
const (
	CmdReceived = "received"
	CmdRunning  = "running"
	CmdOK       = "ok"
	CmdFailed   = "failed"
)

// CmdAck answers a Cmd.
type CmdAck struct {
	V      int    `json:"v"`
	CmdID  string `json:"cmd_id"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// ConfigDesired is the gateway's whole config, retained by the fleet.
type ConfigDesired struct {
	V       int             `json:"v"`
	Version int64           `json:"version"`
	Config  json.RawMessage `json:"config"`
}

// ConfigReported answers a ConfigDesired.
type ConfigReported struct {
	V       int    `json:"v"`
	Version int64  `json:"version"`
	Applied bool   `json:"applied"`
	Error   string `json:"error,omitempty"`
}

// Marshal encodes a payload, setting its version field.
func Marshal(p any) ([]byte, error) { return json.Marshal(p) }

// decode unmarshals strictly (unknown fields are accepted for forward
// compatibility; types and sizes are not) and checks the version.
func decode(kind string, b []byte, v any) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: %s: empty", ErrPayload, kind)
	}
	if len(b) > MaxPayload {
		return fmt.Errorf("%w: %s: %d bytes, limit %d", ErrPayload, kind, len(b), MaxPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPayload, kind, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s: trailing data after JSON", ErrPayload, kind)
	}
	return nil
}

func bad(kind, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrPayload, kind, fmt.Sprintf(format, args...))
}

func checkV(kind string, v int) error {
	if v != Version {
		return bad(kind, "v is %d, want %d", v, Version)
	}
	return nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// checkEpoch accepts an empty epoch (a gateway that predates epochs) or an
// id as ValidID allows.
func checkEpoch(kind, epoch string) error {
	if epoch != "" && (len(epoch) > MaxEpoch || !ValidID(epoch)) {
		return bad(kind, "epoch %q invalid", epoch)
	}
	return nil
}

// DecodeState decodes and validates a state payload.
func DecodeState(b []byte) (State, error) {
	var s State
	if err := decode(KindState, b, &s); err != nil {
		return s, err
	}
	if err := checkV(KindState, s.V); err != nil {
		return s, err
	}
	if err := checkEpoch(KindState, s.Epoch); err != nil {
		return s, err
	}
	if len(s.Arch) > MaxArch || strings.TrimFunc(s.Arch, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }) != "" {
		return s, bad(KindState, "arch %q: want at most %d lowercase letters and digits", s.Arch[:min(len(s.Arch), 32)], MaxArch)
	}
	if s.Session == 0 {
		return s, bad(KindState, "session missing")
	}
	return s, nil
}

// DecodeHeartbeat decodes and validates a heartbeat payload.
func DecodeHeartbeat(b []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := decode(KindHeartbeat, b, &h); err != nil {
		return h, err
	}
	if err := checkV(KindHeartbeat, h.V); err != nil {
		return h, err
	}
	if err := checkEpoch(KindHeartbeat, h.Epoch); err != nil {
		return h, err
	}
	if len(h.Cameras) > 256 {
		return h, bad(KindHeartbeat, "%d cameras, limit 256", len(h.Cameras))
	}
	for i, c := range h.Cameras {
		if !ValidID(c.CameraID) {
			return h, bad(KindHeartbeat, "cameras[%d].camera_id %q invalid", i, c.CameraID)
		}
		if c.Picture != "" && !validPicture(c.Picture) {
			return h, bad(KindHeartbeat, "cameras[%d].picture %q unknown", i, c.Picture)
		}
		if !finite(c.FPS, c.Kbps) || c.FPS < 0 || c.Kbps < 0 {
			return h, bad(KindHeartbeat, "cameras[%d]: fps/kbps out of range", i)
		}
	}
	if !finite(h.System.CPUPercent, h.System.TempC) {
		return h, bad(KindHeartbeat, "system: not a number")
	}
	if len(h.PluginErrors) > 256 {
		return h, bad(KindHeartbeat, "%d plugin_errors, limit 256", len(h.PluginErrors))
	}
	for i, p := range h.PluginErrors {
		if !ValidID(p.Name) {
			return h, bad(KindHeartbeat, "plugin_errors[%d].name %q invalid", i, p.Name)
		}
		if len(p.Error) > MaxPluginError {
			return h, bad(KindHeartbeat, "plugin_errors[%d].error: %d bytes, limit %d", i, len(p.Error), MaxPluginError)
		}
	}
	if err := checkOTA(h.OTA); err != nil {
		return h, err
	}
	return h, nil
}

// DecodeCameraStatus decodes and validates a camera-status payload.
func DecodeCameraStatus(b []byte) (CameraStatus, error) {
	var c CameraStatus
	if err := decode(KindCameraStatus, b, &c); err != nil {
		return c, err
	}
	if err := checkV(KindCameraStatus, c.V); err != nil {
		return c, err
	}
	if err := checkEpoch(KindCameraStatus, c.Epoch); err != nil {
		return c, err
	}
	switch {
	case c.Seq == 0:
		return c, bad(KindCameraStatus, "seq missing")
	case !ValidID(c.CameraID):
		return c, bad(KindCameraStatus, "camera_id %q invalid", c.CameraID)
	case c.At.IsZero():
		return c, bad(KindCameraStatus, "at missing")
	case c.Picture != "" && !validPicture(c.Picture):
		return c, bad(KindCameraStatus, "picture %q unknown", c.Picture)
	}
	return c, nil
}

// DecodeEvent decodes and validates an event payload.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if err := decode(KindEvent, b, &e); err != nil {
		return e, err
	}
	if err := checkV(KindEvent, e.V); err != nil {
		return e, err
	}
	if err := checkEpoch(KindEvent, e.Epoch); err != nil {
		return e, err
	}
	switch {
	case !ValidID(e.EventID):
		return e, bad(KindEvent, "event_id %q invalid", e.EventID)
	case e.Seq == 0:
		return e, bad(KindEvent, "seq missing")
	case e.CameraID != "" && !ValidID(e.CameraID):
		return e, bad(KindEvent, "camera_id %q invalid", e.CameraID)
	case !KnownType(e.Type):
		return e, bad(KindEvent, "type %q unknown", e.Type)
	case !finite(e.Score) || e.Score < 0 || e.Score > 1:
		return e, bad(KindEvent, "score %v outside 0..1", e.Score)
	case e.StartedAt.IsZero():
		return e, bad(KindEvent, "started_at missing")
	case len(e.Boxes) > MaxBoxes:
		return e, bad(KindEvent, "%d boxes, limit %d", len(e.Boxes), MaxBoxes)
	}
	switch e.Phase {
	case "", PhaseStart, PhaseUpdate, PhaseEnd, PhaseSnapshot:
	default:
		return e, bad(KindEvent, "phase %q unknown", e.Phase)
	}
	for i, bx := range e.Boxes {
		if !finite(bx.X, bx.Y, bx.W, bx.H, bx.Score) || bx.X < 0 || bx.Y < 0 || bx.W < 0 || bx.H < 0 ||
			bx.X+bx.W > 1.000001 || bx.Y+bx.H > 1.000001 {
			return e, bad(KindEvent, "boxes[%d] outside 0..1", i)
		}
	}
	if s := e.Snapshot; s != nil {
		if len(s.SHA256) != 64 || s.Bytes <= 0 || s.Bytes > MaxSnapshot {
			return e, bad(KindEvent, "snapshot reference invalid")
		}
	}
	return e, nil
}

// DecodeAck decodes and validates an ack payload.
func DecodeAck(b []byte) (Ack, error) {
	var a Ack
	if err := decode(KindAck, b, &a); err != nil {
		return a, err
	}
	if err := checkV(KindAck, a.V); err != nil {
		return a, err
	}
	if err := checkEpoch(KindAck, a.Epoch); err != nil {
		return a, err
	}
	if len(a.Seqs) == 0 && a.Upto == 0 {
		return a, bad(KindAck, "neither seqs nor upto")
	}
	if len(a.Seqs) > MaxSeqs {
		return a, bad(KindAck, "%d seqs, limit %d", len(a.Seqs), MaxSeqs)
	}
	return a, nil
}

// DecodeCmd decodes and validates a command.
func DecodeCmd(b []byte) (Cmd, error) {
	var c Cmd
	if err := decode(KindCmd, b, &c); err != nil {
		return c, err
	}
	if err := checkV(KindCmd, c.V); err != nil {
		return c, err
	}
	if c.CmdID == "" || len(c.CmdID) > 64 {
		return c, bad(KindCmd, "cmd_id missing or too long")
	}
	if c.Name == "" {
		return c, bad(KindCmd, "name missing")
	}
	return c, nil
}

// DecodeCmdAck decodes and validates a command acknowledgement.
func DecodeCmdAck(b []byte) (CmdAck, error) {
	var c CmdAck
	if err := decode(KindCmdAck, b, &c); err != nil {
		return c, err
	}
	if err := checkV(KindCmdAck, c.V); err != nil {
		return c, err
	}
	if c.CmdID == "" || len(c.CmdID) > 64 {
		return c, bad(KindCmdAck, "cmd_id missing or too long")
	}
	switch c.Status {
	case CmdReceived, CmdRunning, CmdOK, CmdFailed:
	default:
		return c, bad(KindCmdAck, "status %q unknown", c.Status)
	}
	return c, nil
}

// DecodeConfigDesired decodes and validates a desired config.
func DecodeConfigDesired(b []byte) (ConfigDesired, error) {
	var c ConfigDesired
	if err := decode(KindConfigDesired, b, &c); err != nil {
		return c, err
	}
	if err := checkV(KindConfigDesired, c.V); err != nil {
		return c, err
	}
	if c.Version <= 0 {
		return c, bad(KindConfigDesired, "version must be positive")
	}
	if len(c.Config) == 0 || c.Config[0] != '{' {
		return c, bad(KindConfigDesired, "config must be an object")
	}
	return c, nil
}

// DecodeConfigReported decodes and validates a config report.
func DecodeConfigReported(b []byte) (ConfigReported, error) {
	var c ConfigReported
	if err := decode(KindConfigReported, b, &c); err != nil {
		return c, err
	}
	if err := checkV(KindConfigReported, c.V); err != nil {
		return c, err
	}
	return c, nil
}
