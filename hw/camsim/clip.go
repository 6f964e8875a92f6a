package camsim

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// clipFS holds the clips rendered by scripts/make-clips.sh, named
// <scene>-g<GOP seconds>.<h264|h265>.
//
//go:embed clips/*.h264 clips/*.h265
var clipFS embed.FS

// Codec is a video codec of a clip.
type Codec string

// Codecs of the clips.
const (
	CodecH264 Codec = "h264"
	CodecH265 Codec = "h265"
)

// h265Suffix is appended to a scene's name to get its H.265 path.
const h265Suffix = "-h265"

// DefaultGOP is the GOP length, in seconds, used when none is given.
const DefaultGOP = 2

// ClipData is a parsed clip: its access units in decode order (which is also
// presentation order, the clips have no B-frames) and what a server needs to
// describe and pace it. It is shared: callers must not modify it.
type ClipData struct {
	// Scene is the scene path name, for example "kitchen" or "night-h265".
	Scene string
	// Codec is the clip's codec.
	Codec Codec
	// GOP is the distance between IDR frames, in seconds.
	GOP int
	// FPS is the frame rate (from the SPS timing info).
	FPS int
	// Width and Height are the picture size in pixels.
	Width, Height int
	// VPS (H.265 only), SPS and PPS are the first parameter sets of the clip.
	VPS, SPS, PPS []byte
	// AccessUnits are the clip's pictures, each a list of NAL units without
	// start codes. The first is a random access point (IDR), and as the
	// encoder repeats the parameter sets, each IDR access unit starts with
	// them.
	AccessUnits [][][]byte
}

// IsRandomAccess reports whether the i-th access unit is an IDR picture.
func (c *ClipData) IsRandomAccess(i int) bool {
	return isRandomAccess(c.Codec, c.AccessUnits[i])
}

func isRandomAccess(codec Codec, au [][]byte) bool {
	if codec == CodecH265 {
		return h265.IsRandomAccess(au)
	}
	return h264.IsRandomAccess(au)
}

type clipKey struct {
	scene string
	gop   int
}

var (
	clipCacheMu sync.Mutex
	clipCache   = map[clipKey]*ClipData{}
)

// Scenes returns the path names of the built-in scenes, sorted: each base
// scene ("kitchen") and, where there is one, its H.265 variant
// ("kitchen-h265").
func Scenes() []string {
	var out []string
	for _, f := range clipFiles() {
		out = append(out, f.scene)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SceneGOPs returns the GOP lengths, in seconds, at which scene is
// available, sorted; nil if there is no such scene.
func SceneGOPs(scene string) []int {
	var out []int
	for _, f := range clipFiles() {
		if f.scene == scene {
			out = append(out, f.gop)
		}
	}
	slices.Sort(out)
	return out
}

type clipFile struct {
	name  string
	scene string
	gop   int
}

// clipFiles lists the embedded clips, decoding their names.
func clipFiles() []clipFile {
	entries, err := fs.ReadDir(clipFS, "clips")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	var out []clipFile
	for _, e := range entries {
		base, ext, ok := strings.Cut(e.Name(), ".")
		if !ok {
			continue
		}
		i := strings.LastIndex(base, "-g")
		if i < 0 {
			continue
		}
		gop, err := strconv.Atoi(base[i+2:])
		if err != nil {
			continue
		}
		scene := base[:i]
		switch Codec(ext) {
		case CodecH264:
		case CodecH265:
			scene += h265Suffix
		default:
			continue
		}
		out = append(out, clipFile{name: e.Name(), scene: scene, gop: gop})
	}
	return out
}

// Clip returns the parsed clip of scene (a path name from Scenes, such as
// "kitchen", "night-h265" or "kitchen-1080") with an IDR every gop seconds
// (0 means DefaultGOP). The result is cached and shared.
func Clip(scene string, gop int) (*ClipData, error) {
	if gop == 0 {
		gop = DefaultGOP
	}
	gops := SceneGOPs(scene)
	if gops == nil {
		return nil, fmt.Errorf("%w: %q (have %s)", ErrUnknownScene, scene, strings.Join(Scenes(), ", "))
	}
	if !slices.Contains(gops, gop) {
		return nil, fmt.Errorf("%w: scene %q has no clip with a GOP of %d s (have %s)",
			ErrNoClip, scene, gop, joinInts(gops, " s, ")+" s")
	}

	key := clipKey{scene: scene, gop: gop}
	clipCacheMu.Lock()
	defer clipCacheMu.Unlock()
	if c, ok := clipCache[key]; ok {
		return c, nil
	}

	codec := CodecH264
	base := scene
	if b, ok := strings.CutSuffix(scene, h265Suffix); ok {
		codec, base = CodecH265, b
	}
	name := fmt.Sprintf("clips/%s-g%d.%s", base, gop, codec)
	buf, err := clipFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read clip %s: %w", name, err)
	}
	c, err := parseClip(codec, buf)
	if err != nil {
		return nil, fmt.Errorf("parse clip %s: %w", name, err)
	}
	c.Scene, c.GOP = scene, gop
	clipCache[key] = c
	return c, nil
}

// parseClip splits an Annex-B stream into access units and reads the
// parameter sets.
func parseClip(codec Codec, buf []byte) (*ClipData, error) {
	aus, err := SplitAccessUnits(codec, buf)
	if err != nil {
		return nil, err
	}
	if !isRandomAccess(codec, aus[0]) {
		return nil, fmt.Errorf("first access unit is not a random access point")
	}
	c := &ClipData{Codec: codec, AccessUnits: aus}
	for _, au := range aus {
		for _, n := range au {
			switch {
			case c.VPS == nil && codec == CodecH265 && h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_VPS_NUT:
				c.VPS = n
			case c.SPS == nil && isSPS(codec, n):
				c.SPS = n
			case c.PPS == nil && isPPS(codec, n):
				c.PPS = n
			}
		}
	}
	if c.SPS == nil || c.PPS == nil || (codec == CodecH265 && c.VPS == nil) {
		return nil, fmt.Errorf("parameter sets missing")
	}

	var fps float64
	if codec == CodecH265 {
		var sps h265.SPS
		if err := sps.Unmarshal(c.SPS); err != nil {
			return nil, fmt.Errorf("SPS: %w", err)
		}
		c.Width, c.Height, fps = sps.Width(), sps.Height(), sps.FPS()
	} else {
		var sps h264.SPS
		if err := sps.Unmarshal(c.SPS); err != nil {
			return nil, fmt.Errorf("SPS: %w", err)
		}
		c.Width, c.Height, fps = sps.Width(), sps.Height(), sps.FPS()
	}
	c.FPS = int(fps + 0.5)
	if c.FPS <= 0 || 90000%c.FPS != 0 {
		return nil, fmt.Errorf("unsupported frame rate %v (90 kHz must be a multiple of it)", fps)
	}
	return c, nil
}

func isSPS(codec Codec, n []byte) bool {
	if codec == CodecH265 {
		return h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_SPS_NUT
	}
	return h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS
}

func isPPS(codec Codec, n []byte) bool {
	if codec == CodecH265 {
		return h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_PPS_NUT
	}
	return h264.NALUType(n[0]&0x1f) == h264.NALUTypePPS
}

// isParamSet reports whether n is a VPS, SPS or PPS.
func isParamSet(codec Codec, n []byte) bool {
	if codec == CodecH265 && h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_VPS_NUT {
		return true
	}
	return isSPS(codec, n) || isPPS(codec, n)
}

func joinInts(v []int, sep string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, sep)
}
