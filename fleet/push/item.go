package push

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Item kinds: what a subscription chooses among.
const (
	// ItemAlarm: a new AI or camera-picture alarm.
	ItemAlarm = "alarm"
	// ItemOffline: a camera offline (its camera_offline alarm) or a
	// gateway offline past its grace (its notice).
	ItemOffline = "offline"
	// ItemDueSoon: an alarm about to go overdue (review or
	// rectification; alarms.FlagDueSoon).
	ItemDueSoon = "due_soon"
	// ItemWorkflow: the workflow's notices (confirmed, rectification
	// rejected, rectification overdue).
	ItemWorkflow = "workflow"
	// ItemGateway: a gateway's disk nearly full or board too hot.
	ItemGateway = "gateway"
)

// ItemKinds are the item kinds in the order the UI offers them.
var ItemKinds = []string{ItemAlarm, ItemOffline, ItemDueSoon, ItemWorkflow, ItemGateway}

// Severities, lowest first.
const (
	SeverityLow    = "low"
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// Severities are the severities, lowest first.
var Severities = []string{SeverityLow, SeverityMedium, SeverityHigh}

// severityOf are the violation types that are not SeverityMedium.
var severityOf = map[string]string{
	"smoking": SeverityHigh, "rodent": SeverityHigh, "pest": SeverityHigh, "intruder": SeverityHigh,
	"after_hours_motion": SeverityHigh, wire.TypeCameraOffline: SeverityHigh, wire.TypeCameraOccluded: SeverityHigh,
	"bin_uncovered": SeverityLow, "floor_water": SeverityLow, wire.TypeCameraDark: SeverityLow,
	wire.TypeCameraBlurred: SeverityLow, wire.TypeCameraFrozen: SeverityLow,
}

// Severity is a violation type's: high for what endangers food at once
// or blinds the supervision (smoking, rodents, pests, intruders, activity
// after hours, a camera offline or covered), low for housekeeping and a
// degraded picture (bin uncovered, water on the floor, a dark, blurred or
// frozen picture), medium for the rest (hats, masks, uniforms, gloves,
// phones, shirtless, off post).
func Severity(typ string) string {
	if s, ok := severityOf[typ]; ok {
		return s
	}
	return SeverityMedium
}

func severityRank(s string) int { return slices.Index(Severities, s) }

// Item is one thing pushed: an alarm or a notice of a canteen.
type Item struct {
	// Key names it across fleets: "alarm:<violation id>" or
	// "notice:<notice id>".
	Key           string `json:"key"`
	Kind          string `json:"kind"`
	CanteenID     string `json:"canteen_id"`
	CanteenName   string `json:"canteen_name,omitempty"`
	District      string `json:"district,omitempty"`
	ViolationID   int64  `json:"violation_id,omitempty"`
	ViolationType string `json:"violation_type,omitempty"`
	Severity      string `json:"severity"`
	GatewayID     string `json:"gateway_id,omitempty"`
	CameraID      string `json:"camera_id,omitempty"`
	// NoticeKind is the notice's kind (alarms.Notice.Kind) for an item
	// made of a notice.
	NoticeKind string `json:"notice_kind,omitempty"`
	// Text is a one-line summary (the notice's text, or made for an
	// alarm).
	Text string `json:"text"`
	// At is when the alarm or notice was committed.
	At time.Time `json:"at"`
}

// typeName is a violation type's Chinese name, or the type itself.
func typeName(typ string) string {
	for _, v := range wire.ViolationTypes {
		if v.ID == typ {
			return v.ZH
		}
	}
	return typ
}

var severityZH = map[string]string{SeverityLow: "低", SeverityMedium: "中", SeverityHigh: "高"}

var noticeZH = map[string]string{
	"confirmed": "告警已确认，请整改", "rectification_rejected": "整改未通过，请重新整改",
	"rectification_overdue": "整改已逾期", "review_due_soon": "告警即将逾期未审核",
	"rectification_due_soon": "整改即将逾期", "gateway_offline": "网关离线",
	"gateway_disk": "网关磁盘将满", "gateway_hot": "网关温度过高",
}

// Title is the item's heading, in Chinese (the robots' groups read it).
func (it Item) Title() string {
	what := ""
	switch {
	case it.NoticeKind != "":
		what = noticeZH[it.NoticeKind]
		if what == "" {
			what = it.NoticeKind
		}
	default:
		what = typeName(it.ViolationType)
	}
	return "明厨亮灶 · " + what
}

// when is t in the programme's time zone, as the messages write it.
func when(t time.Time) string {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// lines are the item's facts, label and value, in order.
func (it Item) lines() [][2]string {
	canteen := it.CanteenName
	if canteen == "" {
		canteen = it.CanteenID
	}
	out := [][2]string{{"食堂", canteen}}
	if it.District != "" {
		out = append(out, [2]string{"区域", it.District})
	}
	if it.ViolationType != "" {
		out = append(out, [2]string{"类型", typeName(it.ViolationType) + " (" + it.ViolationType + ")"})
		out = append(out, [2]string{"级别", severityZH[it.Severity]})
	}
	if it.CameraID != "" {
		out = append(out, [2]string{"摄像头", it.CameraID})
	}
	if it.GatewayID != "" {
		out = append(out, [2]string{"网关", it.GatewayID})
	}
	out = append(out, [2]string{"时间", when(it.At)})
	if it.ViolationID != 0 {
		out = append(out, [2]string{"告警编号", fmt.Sprint(it.ViolationID)})
	}
	return out
}

// Markdown is the item as the robots' markdown: a heading, one quoted
// line per fact, then the summary.
func (it Item) Markdown() string {
	var b strings.Builder
	b.WriteString("### " + mdEscape(it.Title()) + "\n")
	for _, l := range it.lines() {
		b.WriteString("> " + l[0] + "：" + mdEscape(l[1]) + "\n")
	}
	b.WriteString("\n" + mdEscape(it.Text))
	return b.String()
}

// PlainText is the item as one message of text: the title, the facts,
// the summary.
func (it Item) PlainText() string {
	var b strings.Builder
	b.WriteString("【" + it.Title() + "】\n")
	for _, l := range it.lines() {
		b.WriteString(l[0] + "：" + l[1] + "\n")
	}
	b.WriteString(it.Text)
	return b.String()
}

// SMS is the item as a short message: title, canteen, time.
func (it Item) SMS() string {
	canteen := it.CanteenName
	if canteen == "" {
		canteen = it.CanteenID
	}
	return "【明厨亮灶】" + canteen + "：" + strings.TrimPrefix(it.Title(), "明厨亮灶 · ") + "，" + when(it.At)
}

// mdEscape keeps text from outside (names, ids, notices' text) on its
// line and out of the robots' HTML subset (<font …>): line breaks become
// spaces and '<' is written as an entity. Other markdown is left as is:
// the robots show a backslash escape literally.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", "\r", " ", "\n", " ").Replace(s)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
