package coverage

import "encoding/json"

// Report is Compute's answer: day by day and for the whole period, for all
// canteens in scope and for each (category, district) group.
type Report struct {
	// Query is the query as answered, defaults filled in.
	Query Query `json:"query"`
	// Days are all canteens in scope, one entry per date From..To.
	Days []DayRates `json:"days"`
	// Groups are the canteens in scope by (category, district), sorted by
	// category then district; only groups with a canteen in scope appear.
	Groups []GroupRates `json:"groups"`
	// Total is all canteens in scope over the whole period.
	Total Rates `json:"total"`
}

// GroupRates are the rates of one (category, district).
type GroupRates struct {
	Category string     `json:"category"`
	District string     `json:"district"`
	Days     []DayRates `json:"days"`
	Total    Rates      `json:"total"`
}

// DayRates are one date's rates. Built coverage has no history, so it is
// only in Rates.
type DayRates struct {
	// Day is the date, "2006-01-02", in each canteen's own time zone.
	Day string `json:"day"`
	// Online counts canteens (open that day).
	Online Ratio `json:"online"`
	// CameraOnline counts camera-seconds within operating hours.
	CameraOnline Ratio `json:"camera_online"`
	// Handling and Rectification count violations raised that day.
	Handling      Ratio `json:"handling"`
	Rectification Ratio `json:"rectification"`
	// Reply and ReplyOnTime count complaints received that day: answered
	// (replied or rejected) and answered by their reply deadline.
	Reply       Ratio `json:"reply"`
	ReplyOnTime Ratio `json:"reply_on_time"`
}

// Rates are a period's rates.
type Rates struct {
	// Built counts canteens; Built.Den is the canteens in scope.
	Built Ratio `json:"built"`
	// Online counts canteen-days (days a canteen was open).
	Online Ratio `json:"online"`
	// CameraOnline counts camera-seconds within operating hours.
	CameraOnline Ratio `json:"camera_online"`
	// Handling and Rectification count violations raised in the period.
	Handling      Ratio `json:"handling"`
	Rectification Ratio `json:"rectification"`
	// Reply and ReplyOnTime count complaints received in the period.
	Reply       Ratio `json:"reply"`
	ReplyOnTime Ratio `json:"reply_on_time"`
}

// Ratio is a rate kept as numerator and denominator.
type Ratio struct {
	Num int64 `json:"num"`
	Den int64 `json:"den"`
}

// Rate returns Num/Den, and false when Den is 0 (nothing to rate).
func (r Ratio) Rate() (float64, bool) {
	if r.Den == 0 {
		return 0, false
	}
	return float64(r.Num) / float64(r.Den), true
}

// MarshalJSON adds the rate: {"num":…, "den":…, "rate": … or null}.
func (r Ratio) MarshalJSON() ([]byte, error) {
	v := struct {
		Num  int64    `json:"num"`
		Den  int64    `json:"den"`
		Rate *float64 `json:"rate"`
	}{Num: r.Num, Den: r.Den}
	if x, ok := r.Rate(); ok {
		v.Rate = &x
	}
	return json.Marshal(v)
}

func (r *Ratio) add(o Ratio) { r.Num += o.Num; r.Den += o.Den }
