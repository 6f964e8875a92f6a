package api

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// pngBomb is a PNG that declares w×h pixels of 16-bit RGBA (8 bytes a
// pixel) with a tiny IDAT: under 64 bytes that decode to w×h×8.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // 16-bit, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00}) // an empty zlib stream's start
	return b.Bytes()
}

// jpegBomb is a JPEG whose SOF0 declares w×h pixels of YCbCr.
func jpegBomb(w, h uint16) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8})                                                          // SOI
	b.Write([]byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}) // APP0
	// DQT, table 0, all ones.
	b.Write([]byte{0xff, 0xdb, 0, 67, 0})
	b.Write(bytes.Repeat([]byte{1}, 64))
	sof := []byte{0xff, 0xc0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	b.Write(sof)
	b.Write([]byte{0xff, 0xd9}) // EOI
	return b.Bytes()
}

func TestImageBomb(t *testing.T) {
	w := newWorld(t)
	base := fmt.Sprintf("/api/v1/violations/%d", w.alarm["A"])
	bomb := pngBomb(60000, 60000)
	if len(bomb) > 64 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	// Before the alarm is confirmed, no body is read at all.
	ct, body := multipartBody(t, "fixed", bomb, "bomb.png")
	if status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body); status != 409 || !strings.Contains(resp, "wrong_state") {
		t.Fatalf("rectification of a new alarm: %d %s", status, resp)
	}
	if status, resp := w.req(t, "regulator", "POST", base+"/review", "application/json", []byte(`{"verdict":"confirmed"}`)); status != 200 {
		t.Fatalf("review: %d %s", status, resp)
	}
	for name, photo := range map[string][]byte{"png": bomb, "jpeg": jpegBomb(65000, 65000)} {
		ct, body := multipartBody(t, "fixed", photo, "bomb."+name)
		status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body)
		if status != 413 || !strings.Contains(resp, "image too large") {
			t.Errorf("%s bomb: %d %.300s; want 413 image too large", name, status, resp)
		}
		// The server still answers.
		if status, resp := w.req(t, "", "GET", "/healthz", "", nil); status != 200 {
			t.Fatalf("healthz after the %s bomb: %d %s", name, status, resp)
		}
	}
	// A real photo still goes through.
	ct, body = multipartBody(t, "fixed", pngBytes(t), "fix.png")
	if status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body); status != 201 {
		t.Errorf("real photo: %d %.300s", status, resp)
	}
}
