package config

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse and FromJSON: neither may
// panic, an error is never empty, and an accepted config survives the JSON
// round trip unchanged, detect sections included. Seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	if ex, err := os.ReadFile("example.yaml"); err == nil {
		f.Add(ex)
	}
	f.Add([]byte(good))
	f.Add([]byte(withDetect))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
		} else {
			b, err := c.JSON()
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			c2, err := FromJSON(b)
			if err != nil {
				t.Fatalf("FromJSON(JSON()) of an accepted config: %v\n%s", err, b)
			}
			b2, _ := c2.JSON()
			if string(b2) != string(b) {
				t.Fatalf("round trip changed the config:\n%s\n%s", b, b2)
			}
			for i := range c.Cameras {
				if c.Cameras[i] != c2.Cameras[i] {
					t.Fatalf("round trip changed cameras[%d]:\n%+v\n%+v", i, c.Cameras[i], c2.Cameras[i])
				}
			}
		}
		if _, err := FromJSON(data); err != nil && err.Error() == "" {
			t.Fatal("empty error from FromJSON")
		}
	})
}
