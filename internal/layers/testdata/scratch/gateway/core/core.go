package core

import _ "example.com/scratch/fleet/api"
