package sdk

import (
	"container/list"
	"sync"
)

// DefaultMaxCameras is how many cameras' state Cameras keeps when Max is
// zero.
const DefaultMaxCameras = 256

// Cameras keeps a plugin's state per camera: one plugin process serves
// every camera of the gateway, so a detector that compares frames keeps its
// history by Frame.CameraID. Past Max cameras the least recently seen one
// is forgotten (a camera removed from the config must not leak). Safe for
// concurrent use; the state itself is the caller's to lock.
type Cameras[T any] struct {
	// Max bounds the cameras kept. Zero means DefaultMaxCameras.
	Max int

	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List
}

type cameraState[T any] struct {
	id    string
	state *T
}

// Get returns the state of camera id, made with a zero T on first sight.
func (c *Cameras[T]) Get(id string) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*list.Element)
	}
	if e, ok := c.m[id]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cameraState[T]).state
	}
	max := c.Max
	if max <= 0 {
		max = DefaultMaxCameras
	}
	for len(c.m) >= max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.m, old.Value.(*cameraState[T]).id)
	}
	s := &cameraState[T]{id: id, state: new(T)}
	c.m[id] = c.lru.PushFront(s)
	return s.state
}

// Len is the number of cameras kept.
func (c *Cameras[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
