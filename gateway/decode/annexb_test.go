package decode

import (
	"bytes"
	"strings"
	"testing"
)

func TestAnnexBSize(t *testing.T) {
	for _, c := range []struct {
		name    string
		nalus   [][]byte
		n       int
		refused string
	}{
		{"nothing", nil, 0, "empty access unit"},
		{"empty units", [][]byte{{}, nil}, 0, "empty access unit"},
		{"two units and an empty one", [][]byte{{1, 2}, {}, {3}}, 4 + 2 + 4 + 1, ""},
		{"at the limit", [][]byte{make([]byte, MaxAccessUnitSize-4)}, MaxAccessUnitSize, ""},
		{"over the limit", [][]byte{make([]byte, MaxAccessUnitSize-4), {1}}, MaxAccessUnitSize + 5, "larger than"},
	} {
		n, refused := annexBSize(c.nalus)
		if n != c.n || (c.refused == "") != (refused == "") || !strings.Contains(refused, c.refused) {
			t.Errorf("%s: %d %q, want %d %q", c.name, n, refused, c.n, c.refused)
		}
	}
	buf := make([]byte, 4+2+4+1)
	putAnnexB(buf, [][]byte{{1, 2}, {}, {3}})
	if want := []byte{0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 3}; !bytes.Equal(buf, want) {
		t.Errorf("putAnnexB: % x, want % x", buf, want)
	}
}
