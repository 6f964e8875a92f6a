// Package camsim is a simulated IP camera: an RTSP server (gortsplib v5) that
// loops synthetic kitchen scenes in real time, one path per scene, so the
// gateway, the decoders and the detectors can be tested without hardware.
//
// The scenes are short H.264 and H.265 clips rendered by
// scripts/make-clips.sh and embedded in the package, so a binary that imports
// camsim needs no files and no ffmpeg at run time:
//
//	kitchen       textured kitchen with several figures moving (8 s loop)
//	empty         the same kitchen with nobody in it, light sensor noise
//	night         very dark kitchen (mean luma ~27) with a small brighter blob
//	              moving slowly (a rodent at night)
//	covered       covered lens, nearly black (mean luma < 16)
//	frozen        one textured picture repeated (a stuck camera)
//	blurred       the kitchen heavily blurred (dirty or defocused lens)
//	kitchen-1080  kitchen at 1920x1080, 25 fps, H.264, GOP 2 s only
//
// All scenes but kitchen-1080 are 640x360 at 10 fps, available with a GOP of
// 1, 2 or 4 seconds, in H.264 (path "kitchen") and H.265 (path
// "kitchen-h265"). Clips have no B-frames, so decode order is presentation
// order and every access unit gets the next RTP timestamp.
//
// A Server serves every scene at its GOP, plus any Cameras (extra paths, each
// an independent camera playing a scene), and can stop and restart a path to
// simulate a camera that goes away:
//
//	s := &camsim.Server{Listen: "127.0.0.1:0", GOP: 2}
//	if err := s.Start(); err != nil { ... }
//	defer s.Close()
//	url := s.URL("kitchen") // rtsp://127.0.0.1:40123/kitchen
//
// The server offers the RTP/AVP/TCP (interleaved) transport only; clients
// that try UDP first (gortsplib's default) fall back to TCP.
//
// Clip returns the access units of a clip for tests that need the raw
// bitstream (decoders, packetizers).
package camsim
