package wire

import (
	"net/url"
)

// Remote operations (SPEC.md §2, "Remote operations"): the commands an
// operator sends from the fleet's gateway page, and their arguments. A
// gateway reports a long command's progress with "running" acks whose
// detail says how far it is, then ok or failed.
const (
	// CmdRestart makes the gateway service exit cleanly with
	// ExitRestart, for systemd (Restart=) to start it again. No args.
	CmdRestart = "restart"
)

// PhaseSnapshot marks the event that carries a snapshot taken on the
// fleet's request: it is no alarm (the fleet lists alarms by the phases
// "" and start) and has TypeSnapshot.
const PhaseSnapshot = "snapshot"

// ExitRestart is the exit status of a gateway that restarts on the fleet's
// restart command (EX_TEMPFAIL): non-zero, so that a unit with
// Restart=on-failure restarts it, and told apart from a crash in the
// journal.
const ExitRestart = 75

// Limits of the remote operations' arguments.
const (
	// MaxLogUpload is the most bytes of log (before gzip) one logs.upload
	// sends.
	MaxLogUpload = 32 << 20
	// DefaultLogUpload is logs.upload's max_bytes when it is 0.
	DefaultLogUpload = 4 << 20
	// MaxUploadToken bounds a logs.upload token.
	MaxUploadToken = 128
	// MaxUploadURL bounds a logs.upload URL.
	MaxUploadURL = 2048
)

// LogsUpload is the args of logs.upload: gzip the newest MaxBytes of the
// gateway's log file and PUT them to URL with "Authorization: Bearer
// Token" (a one-time token the fleet issued with the command).
type LogsUpload struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	MaxBytes int64  `json:"max_bytes,omitempty"`
}

// SnapshotArgs is the args of snapshot: take a picture of CameraID now.
// The gateway spools it as an event of TypeSnapshot and PhaseSnapshot
// (not an alarm) with the JPEG on snapshot/{event_id}, and answers ok with
// a SnapshotResult as the detail.
type SnapshotArgs struct {
	CameraID string `json:"camera_id"`
}

// SnapshotResult is the detail of a snapshot command's ok ack (JSON).
type SnapshotResult struct {
	EventID  string `json:"event_id"`
	CameraID string `json:"camera_id"`
	Bytes    int    `json:"bytes"`
}

// LogsResult is the detail of a logs.upload command's ok ack (JSON).
type LogsResult struct {
	// Bytes is the log bytes sent (before gzip); Gzip the bytes uploaded.
	Bytes int64 `json:"bytes"`
	Gzip  int64 `json:"gzip_bytes"`
}

// DecodeLogsUpload decodes and validates logs.upload args; MaxBytes 0
// becomes DefaultLogUpload.
func DecodeLogsUpload(b []byte) (LogsUpload, error) {
	const kind = CmdLogsUpload
	var a LogsUpload
	if err := decode(kind, b, &a); err != nil {
		return a, err
	}
	if len(a.URL) > MaxUploadURL {
		return a, bad(kind, "url: %d bytes, limit %d", len(a.URL), MaxUploadURL)
	}
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return a, bad(kind, "url: want an http:// or https:// URL without credentials")
	}
	if a.Token == "" || len(a.Token) > MaxUploadToken {
		return a, bad(kind, "token: missing or over %d bytes", MaxUploadToken)
	}
	switch {
	case a.MaxBytes == 0:
		a.MaxBytes = DefaultLogUpload
	case a.MaxBytes < 0 || a.MaxBytes > MaxLogUpload:
		return a, bad(kind, "max_bytes %d: want 1 to %d", a.MaxBytes, MaxLogUpload)
	}
	return a, nil
}

// DecodeSnapshotArgs decodes and validates snapshot args.
func DecodeSnapshotArgs(b []byte) (SnapshotArgs, error) {
	const kind = CmdSnapshot
	var a SnapshotArgs
	if err := decode(kind, b, &a); err != nil {
		return a, err
	}
	if !ValidID(a.CameraID) {
		return a, bad(kind, "camera_id %q invalid", a.CameraID)
	}
	return a, nil
}

// CmdCameraConfig edits one camera of the gateway's running config; args
// CameraEdit. The gateway validates the whole config it would run, then
// applies it (the camera restarts) and keeps it, as a desired config's
// cameras; a later desired config replaces the cameras as a whole.
const CmdCameraConfig = "camera.config"

// MaxCameraField bounds a CameraEdit string.
const MaxCameraField = 512

// CameraEdit is the args of camera.config: the fields of camera CameraID
// to change, by their config keys; a field left out (null) keeps its
// value.
type CameraEdit struct {
	CameraID  string  `json:"camera_id"`
	Name      *string `json:"name,omitempty"`
	URL       *string `json:"url,omitempty"`
	Transport *string `json:"transport,omitempty"`
	Area      *string `json:"area,omitempty"`
	Public    *bool   `json:"public,omitempty"`
	LiveURL   *string `json:"live_url,omitempty"`
}

// DecodeCameraEdit decodes and checks camera.config args: what can be
// told without the gateway's config (the gateway checks the rest).
func DecodeCameraEdit(b []byte) (CameraEdit, error) {
	const kind = CmdCameraConfig
	var a CameraEdit
	if err := decode(kind, b, &a); err != nil {
		return a, err
	}
	if !ValidID(a.CameraID) {
		return a, bad(kind, "camera_id %q invalid", a.CameraID)
	}
	for name, v := range map[string]*string{"name": a.Name, "url": a.URL, "transport": a.Transport, "area": a.Area, "live_url": a.LiveURL} {
		if v != nil && len(*v) > MaxCameraField {
			return a, bad(kind, "%s: %d bytes, limit %d", name, len(*v), MaxCameraField)
		}
	}
	for name, v := range map[string]*string{"url": a.URL, "live_url": a.LiveURL} {
		if v == nil || (name == "live_url" && *v == "") {
			continue
		}
		u, err := url.Parse(*v)
		if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
			return a, bad(kind, "%s: want an rtsp:// or rtsps:// URL", name)
		}
	}
	if a.Transport != nil {
		switch *a.Transport {
		case "tcp", "udp", "auto":
		default:
			return a, bad(kind, "transport %q: want tcp, udp or auto", *a.Transport)
		}
	}
	if a.Name == nil && a.URL == nil && a.Transport == nil && a.Area == nil && a.Public == nil && a.LiveURL == nil {
		return a, bad(kind, "nothing to change")
	}
	return a, nil
}
