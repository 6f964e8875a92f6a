package sdk

import (
	_ "example.com/scratch/gateway/ok"
	_ "example.com/scratch/plugins/sdk/pb"
)
