package wire

// Violation types (SPEC.md §2), with their Chinese names for the UI.
var ViolationTypes = map[string]string{
	"no_chef_hat":        "未戴厨师帽",
	"no_mask":            "未戴口罩",
	"no_uniform":         "未穿工作服",
	"no_gloves":          "未戴手套",
	"smoking":            "吸烟",
	"phone":              "玩手机",
	"shirtless":          "赤膊",
	"rodent":             "鼠患",
	"pest":               "蝇虫",
	"bin_uncovered":      "垃圾桶未盖",
	"floor_water":        "地面积水",
	"intruder":           "非工作人员闯入",
	"off_post":           "离岗",
	"after_hours_motion": "非营业时段活动",
	"camera_offline":     "摄像头离线",
	"camera_occluded":    "摄像头遮挡",
	"camera_dark":        "画面过暗",
	"camera_blurred":     "画面模糊",
	"camera_frozen":      "画面冻结",
	"spool_dropped":      "网关缓存溢出",
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
	// TypeSynthetic marks load-generator events (debug.synthetic_events).
	TypeSynthetic = "synthetic"
)

// KnownType reports whether t is a violation type of the contract.
func KnownType(t string) bool {
	_, ok := ViolationTypes[t]
	return ok || t == TypeSynthetic
}
