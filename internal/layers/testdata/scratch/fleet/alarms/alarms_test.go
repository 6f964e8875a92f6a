package alarms_test

import _ "example.com/scratch/fleet/registry" // a test may join floors
