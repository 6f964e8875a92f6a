package camsim_test

import (
	"fmt"
	"log"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

// A simulated camera for a test: serve the scenes plus two independent
// cameras on a free port, then flap one of them.
func ExampleServer() {
	s := &camsim.Server{
		Listen:  "127.0.0.1:0",
		GOP:     2,
		Cameras: []camsim.Camera{{Path: "cam1", Scene: "kitchen"}, {Path: "cam2", Scene: "night-h265"}},
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	fmt.Println(s.URL("cam1")) // rtsp://127.0.0.1:<port>/cam1

	_ = s.StopPath("cam1") // readers are disconnected, DESCRIBE answers 404
	_ = s.StartPath("cam1")
}

// The raw access units of a clip, for decoder tests.
func ExampleClip() {
	c, err := camsim.Clip("night", 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Codec, c.Width, c.Height, c.FPS, len(c.AccessUnits), c.IsRandomAccess(0), c.IsRandomAccess(20))
	// Output: h264 640 360 10 80 true true
}
