package broker

import (
	"bytes"
	"context"
	"crypto/subtle"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// authTimeout bounds one credentials lookup.
const authTimeout = 5 * time.Second

// identity is who an authenticated username is.
type identity struct {
	fleet   bool
	gateway string // when !fleet
}

// aclHook authenticates CONNECTs and checks every publish and subscription.
//
// A client's identity comes from its credentials, never from its client id.
// A gateway's client id must be its own gateway id; the fleet's client may
// use any client id, except one held by a session of another user. So no
// one can take over (and disconnect) someone else's session, nor take a
// gateway's client id while it is away and lock it out on its return.
//
// Retained messages are kept only where the contract keeps them: a
// gateway's own state and the fleet's config/desired. Any other publish
// has its retain flag cleared and is delivered as usual.
type aclHook struct {
	mqtt.HookBase
	auth                 Authenticator
	fleetUser, fleetPass string
	srv                  *mqtt.Server
	log                  *slog.Logger
	gatewayRate          int // bytes/s read from a gateway; 0 unpaced

	// users maps an authenticated username to its identity. Usernames are
	// unique in the store, so an entry never changes meaning; it lets the
	// ACL check (called per message) avoid the store.
	users sync.Map // string -> identity

	authFailures  atomic.Int64
	aclDenials    atomic.Int64
	retainCleared atomic.Int64
}

func (h *aclHook) ID() string { return "bk-acl" }

func (h *aclHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck || b == mqtt.OnPublish
}

func (h *aclHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	ok := h.authenticate(cl, pk)
	if !ok {
		h.authFailures.Add(1)
		return false
	}
	if c, isOurs := cl.Net.Conn.(*conn); isOurs {
		c.authenticated()
		if v, _ := h.users.Load(string(pk.Connect.Username)); v != nil && !v.(identity).fleet && h.gatewayRate > 0 {
			c.pace(h.gatewayRate)
		}
	}
	return true
}

func (h *aclHook) authenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	pass := pk.Connect.Password
	if !pk.Connect.UsernameFlag || user == "" || !pk.Connect.PasswordFlag {
		h.log.Debug("mqtt connect refused: anonymous", "remote", cl.Net.Remote)
		return false
	}
	var id identity
	if h.fleetUser != "" && user == h.fleetUser {
		if subtle.ConstantTimeCompare(pass, []byte(h.fleetPass)) != 1 {
			h.log.Debug("mqtt connect refused: bad fleet password", "remote", cl.Net.Remote)
			return false
		}
		id = identity{fleet: true}
	} else {
		if h.auth == nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		gw, ok, err := h.auth.GatewayByCredentials(ctx, user, string(pass))
		cancel()
		if err != nil {
			h.log.Warn("mqtt credentials lookup failed", "username", user, "err", err)
			return false
		}
		if !ok || !wire.ValidID(gw) {
			h.log.Debug("mqtt connect refused: bad credentials", "username", user, "remote", cl.Net.Remote)
			return false
		}
		id = identity{gateway: gw}
		if cl.ID != gw {
			h.log.Debug("mqtt connect refused: client id is not the gateway id", "gateway_id", gw, "client_id", cl.ID)
			return false
		}
		// A gateway's Last Will may only announce its own state.
		if cl.Properties.Will.Flag == 1 && cl.Properties.Will.TopicName != wire.Topic(gw, wire.KindState) {
			h.log.Debug("mqtt connect refused: will topic not allowed", "gateway_id", gw, "topic", cl.Properties.Will.TopicName)
			return false
		}
	}
	if old, ok := h.srv.Clients.Get(cl.ID); ok && !bytes.Equal(old.Properties.Username, pk.Connect.Username) {
		h.log.Debug("mqtt connect refused: client id held by another user", "client_id", cl.ID, "username", user)
		return false
	}
	h.users.Store(user, id)
	return true
}

// OnPublish clears the retain flag of every publish that the contract does
// not retain (runs after OnACLCheck allowed it).
func (h *aclHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain {
		return pk, nil
	}
	if cl.Net.Inline { // the fleet's in-process client (Broker.Publish)
		if mayRetain(identity{fleet: true}, pk.TopicName) {
			return pk, nil
		}
	} else if v, ok := h.users.Load(string(cl.Properties.Username)); ok && mayRetain(v.(identity), pk.TopicName) {
		return pk, nil
	}
	pk.FixedHeader.Retain = false
	h.retainCleared.Add(1)
	h.log.Debug("mqtt retain flag cleared", "client_id", cl.ID, "topic", pk.TopicName)
	return pk, nil
}

// mayRetain: a gateway its own state, the fleet any gateway's
// config/desired (SPEC.md §2).
func mayRetain(id identity, topic string) bool {
	p, err := wire.ParseTopic(topic)
	if err != nil {
		return false
	}
	if id.fleet {
		return p.Kind == wire.KindConfigDesired
	}
	return p.GatewayID == id.gateway && p.Kind == wire.KindState
}

func (h *aclHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	v, ok := h.users.Load(string(cl.Properties.Username))
	allowed := false
	if ok {
		id := v.(identity)
		if id.fleet {
			allowed = fleetAllowed(topic)
		} else if write {
			allowed = gatewayMayPublish(id.gateway, topic)
		} else {
			allowed = gatewayMaySubscribe(id.gateway, topic)
		}
	}
	if !allowed {
		h.aclDenials.Add(1)
		h.log.Debug("mqtt acl denied", "client_id", cl.ID, "username", string(cl.Properties.Username), "topic", topic, "write", write)
	}
	return allowed
}

// fleetAllowed: the fleet may publish and subscribe (also with wildcards and
// as a share group member) anywhere under bk/v1/gw/.
func fleetAllowed(topic string) bool {
	if rest, ok := cutPrefixFold(topic, mqtt.SharePrefix+"/"); ok {
		group, filter, ok := strings.Cut(rest, "/")
		if !ok || group == "" {
			return false
		}
		topic = filter
	}
	return strings.HasPrefix(topic, wire.TopicPrefix) && len(topic) > len(wire.TopicPrefix)
}

// gatewayMayPublish: its own root, a kind the gateway publishes.
func gatewayMayPublish(gw, topic string) bool {
	p, err := wire.ParseTopic(topic)
	if err != nil || p.GatewayID != gw {
		return false
	}
	for _, k := range wire.GatewayKinds {
		if p.Kind == k {
			return true
		}
	}
	return false
}

// gatewayMaySubscribe: exactly one of its own fleet kinds (no wildcards, no
// shared subscriptions). Deliveries are checked with the same rule.
func gatewayMaySubscribe(gw, filter string) bool {
	for _, k := range wire.FleetKinds {
		if filter == wire.Topic(gw, k) {
			return true
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
