package complaints

// Category is a kind of complaint with its names in Chinese and English:
// the one list the form, the queue, the exports and the API read.
type Category struct {
	ID string `json:"id"`
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Categories are the complaint categories, in the order the form lists
// them. "other" is last and always allowed.
var Categories = []Category{
	{ID: "hygiene", ZH: "食品卫生", EN: "Food hygiene"},
	{ID: "quality", ZH: "食品质量", EN: "Food quality"},
	{ID: "foreign_matter", ZH: "饭菜异物", EN: "Foreign matter in food"},
	{ID: "pests", ZH: "虫鼠害", EN: "Pests"},
	{ID: "staff", ZH: "从业人员行为", EN: "Staff behaviour"},
	{ID: "illness", ZH: "食用后身体不适", EN: "Illness after eating"},
	{ID: "other", ZH: "其他", EN: "Other"},
}

// ValidCategory says whether id is one of Categories.
func ValidCategory(id string) bool {
	for _, c := range Categories {
		if c.ID == id {
			return true
		}
	}
	return false
}
