// Command bk-decodecheck decodes an Annex-B H.264 or H.265 file with package
// decode and prints what came out, as one line of key=value fields:
//
//	bk-decodecheck codec=h264 units=80 fed=4 frames=4 size=640x360 mean-luma=151.4 crc32=a58696d4
//
// units counts the file's access units, fed those given to the decoder,
// frames the pictures that came out; size is the last picture's, mean-luma
// the mean over all pictures of their mean luma, and crc32 the CRC-32 (IEEE)
// of all pictures in GRAY8, in order. libavcodec's decoders are bit-exact,
// so two builds on different architectures print the same line.
//
// It checks a build (a cross build under qemu, typically) end to end: cgo,
// libavcodec and libswscale. The codec follows the file's extension (.h264,
// .h265) unless -codec is given; by default only IDR units are decoded, with
// -all every unit.
package main

import (
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

func main() {
	codec := flag.String("codec", "", "h264 or h265 (default: from the file's extension)")
	all := flag.Bool("all", false, "decode every access unit, not only IDRs")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: bk-decodecheck [-codec h264|h265] [-all] FILE\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *codec, *all); err != nil {
		fmt.Fprintln(os.Stderr, "bk-decodecheck:", err)
		os.Exit(1)
	}
}

func run(path, codec string, all bool) error {
	if codec == "" {
		codec = strings.TrimPrefix(filepath.Ext(path), ".")
	}
	var c decode.Codec
	switch strings.ToLower(codec) {
	case "h264":
		c = decode.CodecH264
	case "h265", "hevc":
		c = decode.CodecH265
	default:
		return fmt.Errorf("unknown codec %q (want h264 or h265)", codec)
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	aus, err := camsim.SplitAccessUnits(camsim.Codec(strings.ToLower(string(c))), buf)
	if err != nil {
		return fmt.Errorf("split %s: %w", path, err)
	}
	d, err := decode.New(c)
	if err != nil {
		return err
	}
	defer d.Close()

	s := decode.Sampler{}
	if all {
		s.FPS = 1000 // every unit
	}
	var (
		fed, frames int
		w, h        int
		luma        float64
		crc         = crc32.NewIEEE()
	)
	for i, au := range aus {
		idr := decode.IsRandomAccess(c, au)
		pts := time.Duration(i) * time.Second / 25
		if !s.Feed(idr, pts) {
			continue
		}
		fed++
		ok, err := d.Decode(au, pts)
		if err != nil {
			return fmt.Errorf("access unit %d: %w", i, err)
		}
		if !ok {
			continue
		}
		f, err := d.Scale(decode.GRAY8, 0, 0)
		if err != nil {
			return err
		}
		frames++
		w, h = f.Width, f.Height
		luma += mean(f.Data)
		crc.Write(f.Data)
		d.Recycle(f)
	}
	if frames == 0 {
		return fmt.Errorf("no picture decoded from %d access units", len(aus))
	}
	fmt.Printf("bk-decodecheck codec=%s units=%d fed=%d frames=%d size=%dx%d mean-luma=%.1f crc32=%08x\n",
		strings.ToLower(string(c)), len(aus), fed, frames, w, h, luma/float64(frames), crc.Sum32())
	return nil
}

func mean(b []byte) float64 {
	var sum uint64
	for _, v := range b {
		sum += uint64(v)
	}
	return float64(sum) / float64(len(b))
}
