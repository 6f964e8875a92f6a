package e2e

import (
	_ "example.com/scratch/fleet/api"
	_ "example.com/scratch/gateway/cmd/tool"
	_ "example.com/scratch/gateway/core"
)
