package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/brightkitchen/brightkitchen/fleet/api"
)

// publicFlags are bk-fleet serve's flags of the public kitchen pages
// (网络厨房): the anonymous live views' cap per canteen and rate per
// client address.
type publicFlags struct {
	maxViewers, perMinute *string
}

func addPublicFlags(fs flagSet) publicFlags {
	return publicFlags{
		maxViewers: fs.str("live-max-public-viewers-per-canteen", strconv.Itoa(api.DefaultMaxPublicViewers),
			"anonymous viewers (cameras published to everyone) of one canteen at once"),
		perMinute: fs.str("live-public-views-per-minute", strconv.Itoa(api.DefaultPublicViewsPerMinute),
			"anonymous live view requests one client address may make a minute"),
	}
}

// parse returns the cap and the rate; false after writing to stderr what
// is wrong.
func (pf publicFlags) parse(stderr io.Writer) (maxViewers, perMinute int, ok bool) {
	for _, f := range []struct {
		name, v string
		to      *int
	}{{"live-max-public-viewers-per-canteen", *pf.maxViewers, &maxViewers}, {"live-public-views-per-minute", *pf.perMinute, &perMinute}} {
		n, err := strconv.Atoi(f.v)
		if err != nil || n < 1 || n > 1_000_000 {
			fmt.Fprintf(stderr, "bk-fleet serve: --%s %q: want a positive number\n", f.name, f.v)
			return 0, 0, false
		}
		*f.to = n
	}
	return maxViewers, perMinute, true
}
