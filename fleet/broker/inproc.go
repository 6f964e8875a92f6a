package broker

import (
	"errors"
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// inprocSubID is the subscription identifier of the in-process client's
// subscriptions (one client, so one identifier serves them all).
const inprocSubID = 1

var errNotStarted = errors.New("broker: not started")

// Subscribe delivers every message published on filter to handler, in the
// process, through mochi's inline client: no MQTT connection, so the
// message is neither encoded again nor read back, and handler gets the
// payload the broker read from the publisher (not a copy: it must not
// change it, and may keep it). handler runs on the publisher's read loop,
// so it must not block.
//
// This is the fleet's own client when it runs in the same process (its
// rights are the fleet account's: anywhere under bk/v1/gw/). Retained
// messages matching filter are delivered at once, as to any new
// subscription.
func (b *Broker) Subscribe(filter string, handler func(topic string, payload []byte)) error {
	srv := b.server()
	if srv == nil {
		return errNotStarted
	}
	if !fleetAllowed(filter) {
		return fmt.Errorf("broker: subscribe %s: outside the fleet's topics", filter)
	}
	return srv.Subscribe(filter, inprocSubID, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		handler(pk.TopicName, pk.Payload)
	})
}

// Unsubscribe ends a subscription made with Subscribe.
func (b *Broker) Unsubscribe(filter string) error {
	srv := b.server()
	if srv == nil {
		return errNotStarted
	}
	return srv.Unsubscribe(filter, inprocSubID)
}

// Publish publishes from the process as the fleet's own client: under
// bk/v1/gw/ only, retained only where the fleet may retain
// (config/desired; the flag is cleared elsewhere). Subscribers get it at
// the QoS they asked for, up to qos.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	srv := b.server()
	if srv == nil {
		return errNotStarted
	}
	if !fleetAllowed(topic) {
		return fmt.Errorf("broker: publish %s: outside the fleet's topics", topic)
	}
	return srv.Publish(topic, payload, retain, qos)
}

func (b *Broker) server() *mqtt.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv
}
