package coverage

import (
	"fmt"
	"math"
	"time"
)

// Defaults of a Query's zero fields, and its limit.
const (
	DefaultOnlineThreshold = 0.90
	DefaultReviewDeadline  = 24 * time.Hour
	// MaxDays is the longest period one query may ask for.
	MaxDays = 366
)

// Query selects the period and the canteens, and sets the thresholds.
type Query struct {
	// From and To are the first and last dates (inclusive); only the year,
	// month and day, as each shows in its own location, are used. From is
	// required; To zero means the same date as From.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Category and District filter canteens; "" matches any.
	Category string `json:"category,omitempty"`
	District string `json:"district,omitempty"`
	// OnlineThreshold is the share of a day's operating hours each required
	// area must be covered for; 0 means DefaultOnlineThreshold (0.90).
	OnlineThreshold float64 `json:"online_threshold"`
	// ReviewDeadline is how soon after being raised a violation must be
	// reviewed to count as handled; 0 means DefaultReviewDeadline (24 h).
	ReviewDeadline time.Duration `json:"review_deadline"`
	// Now is the end of known time: nothing after it is counted. Zero means
	// time.Now().
	Now time.Time `json:"now"`
}

// normalize fills in defaults and checks the query.
func (q Query) normalize() (Query, date, int, error) {
	if q.From.IsZero() {
		return q, date{}, 0, fmt.Errorf("%w: from is required", ErrQuery)
	}
	if q.To.IsZero() {
		q.To = q.From
	}
	from, to := dateOf(q.From), dateOf(q.To)
	n := int(to.unixDay()-from.unixDay()) + 1
	switch {
	case n < 1:
		return q, date{}, 0, fmt.Errorf("%w: to %s is before from %s", ErrQuery, to, from)
	case n > MaxDays:
		return q, date{}, 0, fmt.Errorf("%w: %d days from %s to %s, at most %d", ErrQuery, n, from, to, MaxDays)
	}
	if q.OnlineThreshold == 0 {
		q.OnlineThreshold = DefaultOnlineThreshold
	}
	if math.IsNaN(q.OnlineThreshold) || q.OnlineThreshold < 0 || q.OnlineThreshold > 1 {
		return q, date{}, 0, fmt.Errorf("%w: online threshold %v: want a share in (0, 1]", ErrQuery, q.OnlineThreshold)
	}
	if q.ReviewDeadline == 0 {
		q.ReviewDeadline = DefaultReviewDeadline
	}
	if q.ReviewDeadline < 0 {
		return q, date{}, 0, fmt.Errorf("%w: review deadline %v is negative", ErrQuery, q.ReviewDeadline)
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	return q, from, n, nil
}
