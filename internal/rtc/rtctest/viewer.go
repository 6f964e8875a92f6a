// Package rtctest holds the WebRTC test peers the tests share, so that
// each test does not build its own: a receive-only WHEP viewer with
// internal/rtc's browser-like settings that counts what it receives, the
// offer/answer exchange of a WHIP or WHEP client over HTTP, and canned SDP
// offers for tests of what a server accepts and refuses (offers.go).
//
// It is for tests only: nothing outside _test.go files imports it.
package rtctest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/rtc"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// Post does a WHIP or WHEP client's offer/answer: it sets pc's local
// description to a new offer, waits for ICE gathering to complete (the
// offer carries every candidate; there is no trickle), POSTs the offer to
// url as application/sdp with header, and applies the answer. It returns
// the answer's Location and the HTTP status; a status other than 201
// Created is an error holding the status and the body.
func Post(pc *webrtc.PeerConnection, url string, header http.Header) (location string, status int, err error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", 0, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", 0, err
	}
	<-gathered
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return "", 0, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", resp.StatusCode, fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return "", resp.StatusCode, err
	}
	return resp.Header.Get("Location"), resp.StatusCode, nil
}

// Bearer is the header of a request that carries token ("" for none).
func Bearer(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// A Viewer is a WHEP client that stands in for a browser: a receive-only
// pion peer connection with a video transceiver (and an audio one when
// asked, as a browser's offer has). Its settings are read by Watch; the
// zero value watches video with rtc.BrowserAPI.
type Viewer struct {
	// API makes the peer connection. Default rtc.BrowserAPI(nil): pion's
	// default codecs and interceptors, loopback candidates only.
	API *webrtc.API
	// Audio adds a receive-only audio transceiver after the video one.
	Audio bool
	// Header is sent with the WHEP POST and Delete's DELETE (for example
	// Bearer(token)).
	Header http.Header
	// OnRTP, when set, is called with each RTP packet as it arrives, on the
	// goroutine that reads its track.
	OnRTP func(p *rtp.Packet, at time.Time)

	// Location is the WHEP session's resource, from the answer.
	Location string
	// Posted is when the offer was POSTed.
	Posted time.Time

	pc      *webrtc.PeerConnection
	url     string
	packets atomic.Int64
	frames  atomic.Int64
	first   chan struct{}
	once    sync.Once
}

// Watch creates the peer connection and POSTs its offer to url. It
// returns the HTTP status (0 when there was no answer); on an error the
// peer connection is closed.
func (v *Viewer) Watch(url string) (int, error) {
	if v.pc != nil {
		return 0, errors.New("rtctest: the viewer is watching already")
	}
	api := v.API
	if api == nil {
		var err error
		if api, err = rtc.BrowserAPI(nil); err != nil {
			return 0, err
		}
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	v.first = make(chan struct{})
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	if v.Audio {
		kinds = append(kinds, webrtc.RTPCodecTypeAudio)
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return 0, err
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		video := tr.Kind() == webrtc.RTPCodecTypeVideo
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			at := time.Now()
			if v.OnRTP != nil {
				v.OnRTP(p, at)
			}
			v.packets.Add(1)
			if video && p.Marker {
				v.frames.Add(1)
			}
			v.once.Do(func() { close(v.first) })
		}
	})
	v.pc, v.url, v.Posted = pc, url, time.Now()
	loc, status, err := Post(pc, url, v.Header)
	if err != nil {
		_ = pc.Close()
		return status, err
	}
	v.Location = loc
	return status, nil
}

// PC is the viewer's peer connection (nil before Watch).
func (v *Viewer) PC() *webrtc.PeerConnection { return v.pc }

// Packets is how many RTP packets the viewer has received.
func (v *Viewer) Packets() int { return int(v.packets.Load()) }

// Frames is how many video frames the viewer has received whole: RTP
// packets with the marker bit, which ends an access unit.
func (v *Viewer) Frames() int { return int(v.frames.Load()) }

// First is closed when the first RTP packet arrives.
func (v *Viewer) First() <-chan struct{} { return v.first }

// WaitPackets waits until the viewer has received n packets, failing t
// after limit.
func (v *Viewer) WaitPackets(t testing.TB, n int, limit time.Duration) {
	t.Helper()
	wait.For(t, limit, fmt.Sprintf("the viewer receiving %d RTP packets", n), func() bool { return v.Packets() >= n })
}

// WaitFrames waits until the viewer has received n video frames, failing
// t after limit.
func (v *Viewer) WaitFrames(t testing.TB, n int, limit time.Duration) {
	t.Helper()
	wait.For(t, limit, fmt.Sprintf("the viewer receiving %d video frames", n), func() bool { return v.Frames() >= n })
}

// Delete ends the WHEP session: a DELETE of Location (relative to the URL
// watched) with Header. It returns the HTTP status.
func (v *Viewer) Delete() (int, error) {
	if v.Location == "" {
		return 0, errors.New("rtctest: no WHEP session to delete")
	}
	base, err := url.Parse(v.url)
	if err != nil {
		return 0, err
	}
	loc, err := base.Parse(v.Location)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodDelete, loc.String(), nil)
	if err != nil {
		return 0, err
	}
	for k, vs := range v.Header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Close closes the peer connection; the track readers end with it.
func (v *Viewer) Close() error {
	if v.pc == nil {
		return nil
	}
	return v.pc.Close()
}
