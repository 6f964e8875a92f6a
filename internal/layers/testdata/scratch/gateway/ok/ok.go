package ok

import (
	_ "example.com/scratch/fleet/wire"
	_ "example.com/scratch/hw/board"
)
