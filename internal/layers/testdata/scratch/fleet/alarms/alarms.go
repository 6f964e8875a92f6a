package alarms

import _ "example.com/scratch/fleet/store"
