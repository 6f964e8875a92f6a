package board

import (
	"testing"

	_ "example.com/scratch/fleet/wire"
)

func TestBoard(t *testing.T) {}
