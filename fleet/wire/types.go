package wire

// ViolationType is a violation type of the contract (SPEC.md §2) with its
// names for people, in Chinese and in English.
type ViolationType struct {
	ID string `json:"id"`
	ZH string `json:"zh"`
	EN string `json:"en"`
	// Kind groups the types as SPEC.md §2 does: "detection" (what the
	// detectors and rules see), "camera" (camera health), "gateway" and
	// "ops" (TypeSnapshot, pictures taken on request) and "test"
	// (TypeSynthetic, for the load generator).
	Kind string `json:"kind"`
}

// ViolationTypes are the violation types in the order of SPEC.md §2: the
// one list the gateway's rules, the fleet's ingest and the web UI (GET
// /api/v1/violation-types) read. TypeSynthetic comes last; it is no
// violation but load-generator events.
var ViolationTypes = []ViolationType{
	{"no_chef_hat", "未戴厨师帽", "No chef hat", "detection"},
	{"no_mask", "未戴口罩", "No mask", "detection"},
	{"no_uniform", "未穿工作服", "No uniform", "detection"},
	{"no_gloves", "未戴手套", "No gloves", "detection"},
	{"smoking", "吸烟", "Smoking", "detection"},
	{"phone", "玩手机", "Phone use", "detection"},
	{"shirtless", "赤膊", "Shirtless", "detection"},
	{"rodent", "鼠患", "Rodent", "detection"},
	{"pest", "蝇虫", "Flies / insects", "detection"},
	{"bin_uncovered", "垃圾桶未盖", "Bin uncovered", "detection"},
	{"floor_water", "地面积水", "Water on the floor", "detection"},
	{"intruder", "非工作人员闯入", "Intruder", "detection"},
	{"off_post", "离岗", "Off post", "detection"},
	{"after_hours_motion", "非营业时段活动", "After-hours activity", "detection"},
	{TypeCameraOffline, "摄像头离线", "Camera offline", "camera"},
	{TypeCameraOccluded, "摄像头遮挡", "Camera covered", "camera"},
	{TypeCameraDark, "画面过暗", "Picture too dark", "camera"},
	{TypeCameraBlurred, "画面模糊", "Picture blurred", "camera"},
	{TypeCameraFrozen, "画面冻结", "Picture frozen", "camera"},
	{TypeSpoolDropped, "网关缓存溢出", "Gateway dropped data", "gateway"},
	{TypeSnapshot, "手动抓拍", "Snapshot on request", "ops"},
	{TypeSynthetic, "测试事件", "Test event", "test"},
}

// Camera health violation types.
const (
	TypeCameraOffline  = "camera_offline"
	TypeCameraOccluded = "camera_occluded"
	TypeCameraDark     = "camera_dark"
	TypeCameraBlurred  = "camera_blurred"
	TypeCameraFrozen   = "camera_frozen"
	// TypeSpoolDropped reports that the gateway's outbox dropped data to stay
	// within its byte budget (attrs say how much).
	TypeSpoolDropped = "spool_dropped"
	// TypeSnapshot is a picture taken on the fleet's snapshot command
	// (wire.PhaseSnapshot): no violation.
	TypeSnapshot = "snapshot"
	// TypeSynthetic marks load-generator events (debug.synthetic_events).
	TypeSynthetic = "synthetic"
)

// LookupType is the violation type t, if the contract has it.
func LookupType(t string) (ViolationType, bool) {
	for _, v := range ViolationTypes {
		if v.ID == t {
			return v, true
		}
	}
	return ViolationType{}, false
}

// KnownType reports whether t is a violation type of the contract (or
// TypeSynthetic).
func KnownType(t string) bool {
	_, ok := LookupType(t)
	return ok
}
