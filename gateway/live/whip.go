package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// maxAnswerBytes caps a WHIP answer's body.
	maxAnswerBytes = 64 << 10
	// maxMessage caps the server message kept in a StatusError.
	maxMessage = 300
	// deleteTimeout bounds the DELETE of a session's resource.
	deleteTimeout = 3 * time.Second
)

// postOffer POSTs an SDP offer to a WHIP endpoint and returns the answer
// and the session's resource URL (resolved against endpoint; nil if the
// server gave none).
func postOffer(ctx context.Context, hc *http.Client, endpoint *url.URL, token, offer string) (answer string, resource *url.URL, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(offer))
	if err != nil {
		return "", nil, fmt.Errorf("WHIP POST: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("WHIP POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("WHIP POST %s: read answer: %w", redact(endpoint), err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", nil, &StatusError{
			Method: http.MethodPost, URL: redact(endpoint),
			StatusCode: resp.StatusCode, Status: resp.Status, Message: serverMessage(body),
		}
	}
	if len(body) > maxAnswerBytes {
		return "", nil, fmt.Errorf("%w: more than %d bytes", ErrBadAnswer, maxAnswerBytes)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/sdp" {
			return "", nil, fmt.Errorf("%w: content type %q, want application/sdp", ErrBadAnswer, ct)
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := endpoint.Parse(loc)
		if err != nil {
			return "", nil, fmt.Errorf("%w: Location %q: %w", ErrBadAnswer, loc, err)
		}
		resource = u
	}
	return string(body), resource, nil
}

// deleteResource ends a WHIP session (best effort, bounded).
func deleteResource(hc *http.Client, resource *url.URL, token string) error {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, resource.String(), nil)
	if err != nil {
		return fmt.Errorf("WHIP DELETE: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("WHIP DELETE: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return &StatusError{
			Method: http.MethodDelete, URL: redact(resource),
			StatusCode: resp.StatusCode, Status: resp.Status, Message: serverMessage(body),
		}
	}
	return nil
}

// serverMessage is what a refusal says: the "error" of a JSON body (the
// fleet's {"error", "code"}), else the start of the body as text.
func serverMessage(body []byte) string {
	var j struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error != "" {
		if j.Code != "" {
			return j.Error + " (" + j.Code + ")"
		}
		return j.Error
	}
	s := string(bytes.TrimSpace(body))
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%d bytes of binary", len(body))
	}
	if len(s) > maxMessage {
		s = s[:maxMessage]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// redact drops user info and the query from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}
