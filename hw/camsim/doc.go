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
// and the scenes for the AI detectors, drawn by package scene (which also
// gives each frame's ground truth), 8 s loops in H.264 with a GOP of 2 s
// only:
//
//	staff       two cooks in white coats, chef's hats and masks, a closed bin:
//	            nothing to report
//	no-hat      the same, the second cook without a hat
//	no-mask     the second cook without a mask
//	no-uniform  the second cook in a coloured shirt
//	phone       the second cook holding a phone in front of the chest
//	smoking     the second cook smoking (and so without a mask)
//	rodent      the kitchen at night through an infrared camera, a rodent
//	            running across the floor
//	bin-open    the staff kitchen with the bin's lid off
//
// All scenes but kitchen-1080 are 640x360 at 10 fps. The first six come
// with a GOP of 1, 2 or 4 seconds, in H.264 (path "kitchen") and H.265
// (path "kitchen-h265"). Clips have no B-frames, so decode order is presentation
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
