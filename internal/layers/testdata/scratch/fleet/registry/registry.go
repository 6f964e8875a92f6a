package registry

import (
	_ "example.com/scratch/fleet/alarms" // a domain, from the floor below it
	_ "example.com/scratch/fleet/store"
)
