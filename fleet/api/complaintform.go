package api

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/complaints"
)

// The complaint form's limits. A complaint is multipart/form-data: the
// fields below, at most one of each, and an optional photo; anything else
// is refused before the rest is read.
const (
	// MaxComplaintBody is the largest complaint request: the photo and
	// the fields with their framing.
	MaxComplaintBody = complaints.MaxPhoto + 64<<10
	// MaxComplaintPixels bounds a complaint photo (16 megapixels: any
	// phone's photo, scaled down by the phone's own upload, fits). Lower
	// than MaxPixels: anyone may send one.
	MaxComplaintPixels = 16_000_000
	maxComplaintParts  = 12
	maxFieldBytes      = 1 << 10
)

// complaintFields are the form's text fields and the bytes each may take.
var complaintFields = map[string]int{
	"canteen": maxFieldBytes, "category": maxFieldBytes, "text": complaints.MaxText*4 + 64,
	"contact": maxFieldBytes, "camera": maxFieldBytes, "at": maxFieldBytes,
	"challenge": maxFieldBytes, "nonce": maxFieldBytes,
}

// complaintForm is a decoded complaint, fields as sent.
type complaintForm struct {
	Fields map[string]string
	Photo  []byte
}

// errFormTooLarge: a field or the photo over its limit.
var errFormTooLarge = errors.New("too large")

// decodeComplaint reads a complaint's multipart body with boundary: each
// known field once, within its limit; the photo within
// complaints.MaxPhoto. It reads no more than a field's limit before
// refusing it. errFormTooLarge for a field or photo too large; other
// errors say what is malformed.
func decodeComplaint(body io.Reader, boundary string) (complaintForm, error) {
	f := complaintForm{Fields: map[string]string{}}
	photoSeen := false
	mr := multipart.NewReader(body, boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		} else if err != nil {
			return f, fmt.Errorf("form: %w", err)
		}
		if n == maxComplaintParts {
			return f, fmt.Errorf("form: more than %d parts", maxComplaintParts)
		}
		name := part.FormName()
		if name == "photo" {
			if photoSeen {
				return f, errors.New("photo: sent twice")
			}
			photoSeen = true
			b, err := io.ReadAll(io.LimitReader(part, complaints.MaxPhoto+1))
			if err != nil {
				return f, fmt.Errorf("photo: %w", err)
			}
			if len(b) > complaints.MaxPhoto {
				return f, fmt.Errorf("photo: over %d MiB: %w", complaints.MaxPhoto>>20, errFormTooLarge)
			}
			if len(b) > 0 { // an empty file input is no photo
				f.Photo = b
			}
			continue
		}
		limit, ok := complaintFields[name]
		if !ok {
			return f, fmt.Errorf("form: unknown field %q", truncName(name))
		}
		if _, dup := f.Fields[name]; dup {
			return f, fmt.Errorf("%s: sent twice", name)
		}
		b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
		if err != nil {
			return f, fmt.Errorf("%s: %w", name, err)
		}
		if len(b) > limit {
			return f, fmt.Errorf("%s: over %d bytes: %w", name, limit, errFormTooLarge)
		}
		f.Fields[name] = string(b)
	}
}

func truncName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// newComplaint turns a decoded form into what complaints.File takes (the
// challenge is checked by the caller); errors name the field.
func (f complaintForm) newComplaint() (complaints.NewComplaint, error) {
	n := complaints.NewComplaint{CanteenID: f.Fields["canteen"], Category: f.Fields["category"], Text: f.Fields["text"],
		Contact: f.Fields["contact"], Camera: f.Fields["camera"]}
	if v := f.Fields["at"]; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return n, fmt.Errorf("at: %q is not an RFC 3339 time", truncName(v))
		}
		n.ConcernsAt = t
	}
	return n, nil
}

// cleanPhoto checks a complaint photo as rectification photos are (a
// whole JPEG or PNG, its declared size within MaxComplaintPixels before
// any pixel is decoded) and re-encodes it, which drops its metadata (a
// phone's JPEG carries where it was taken: not for an anonymous filer to
// hand over unawares). It returns the new bytes and their type;
// ErrImageTooLarge for too many pixels.
func cleanPhoto(b []byte) ([]byte, string, error) {
	typ := http.DetectContentType(b)
	if !slices.Contains([]string{"image/jpeg", "image/png"}, typ) {
		return nil, "", fmt.Errorf("%s is not a JPEG or PNG image", typ)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("not a readable %s: %w", typ, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", fmt.Errorf("declares %d×%d pixels", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxComplaintPixels {
		return nil, "", fmt.Errorf("%w: %d×%d pixels, at most %d", ErrImageTooLarge, cfg.Width, cfg.Height, MaxComplaintPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("not a readable %s: %w", typ, err)
	}
	var out bytes.Buffer
	if typ == "image/png" {
		err = png.Encode(&out, img)
	} else {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		return nil, "", fmt.Errorf("re-encode: %w", err)
	}
	if out.Len() > complaints.MaxPhoto {
		return nil, "", fmt.Errorf("%w: over %d MiB once re-encoded", ErrImageTooLarge, complaints.MaxPhoto>>20)
	}
	return out.Bytes(), typ, nil
}
