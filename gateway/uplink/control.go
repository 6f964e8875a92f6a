package uplink

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// onMessage is paho's handler for the three subscribed topics. It only
// decodes and queues: publishing from here could block paho's router.
func (c *Client) onMessage(_ mqtt.Client, m mqtt.Message) {
	topic, payload := m.Topic(), m.Payload()
	switch topic {
	case c.topics.ack:
		a, err := wire.DecodeAck(payload)
		if err != nil {
			c.noteMalformed(topic, err)
			return
		}
		select {
		case c.acks <- a:
		case <-c.ctx.Done():
		}
	case c.topics.cmd:
		cmd, err := wire.DecodeCmd(payload)
		if err != nil {
			c.noteMalformed(topic, err)
			return
		}
		select {
		case c.cmds <- cmd:
		case <-c.ctx.Done():
		}
	case c.topics.configDesired:
		if len(payload) == 0 {
			return // a cleared retained message
		}
		d, err := wire.DecodeConfigDesired(payload)
		if err != nil {
			c.noteMalformed(topic, err)
			return
		}
		select {
		case c.configs <- d:
		case <-c.ctx.Done():
		}
	}
}

// cmdLoop de-duplicates commands, answers "received" and hands each new
// one to a runner goroutine.
func (c *Client) cmdLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-c.cmds:
			c.handleCmd(ctx, cmd)
		}
	}
}

func (c *Client) handleCmd(ctx context.Context, cmd wire.Cmd) {
	c.cmdMu.Lock()
	if prev, ok := c.cmdSeen.get(cmd.CmdID); ok {
		c.cmdMu.Unlock()
		c.stats.duplicates.Add(1)
		c.log.Debug("repeated command answered from memory", "cmd_id", cmd.CmdID, "status", prev.Status)
		c.publishCmdAck(prev)
		return
	}
	if !cmd.ExpiresAt.IsZero() && time.Now().After(cmd.ExpiresAt) {
		ack := wire.CmdAck{V: wire.Version, CmdID: cmd.CmdID, Status: wire.CmdFailed, Detail: "expired"}
		c.cmdSeen.put(ack)
		c.cmdMu.Unlock()
		c.stats.expired.Add(1)
		c.log.Info("command expired", "cmd_id", cmd.CmdID, "name", cmd.Name, "expires_at", cmd.ExpiresAt)
		c.publishCmdAck(ack)
		return
	}
	c.cmdSeen.put(wire.CmdAck{V: wire.Version, CmdID: cmd.CmdID, Status: wire.CmdReceived})
	c.cmdMu.Unlock()
	c.ackCmd(cmd.CmdID, wire.CmdReceived, "")

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case c.cmdSem <- struct{}{}:
		case <-ctx.Done():
			c.ackCmd(cmd.CmdID, wire.CmdFailed, "gateway shutting down")
			return
		}
		defer func() { <-c.cmdSem }()
		c.ackCmd(cmd.CmdID, wire.CmdRunning, "")
		c.stats.commands.Add(1)
		id := cmd.CmdID
		detail, err := c.runCmd(withProgress(ctx, func(d string) { c.ackCmd(id, wire.CmdRunning, d) }), cmd)
		if errors.Is(err, ErrAnswerLater) {
			c.log.Info("command answered later", "cmd_id", cmd.CmdID, "name", cmd.Name, "detail", err)
			return
		}
		status := wire.CmdOK
		if err != nil {
			c.log.Info("command failed", "cmd_id", cmd.CmdID, "name", cmd.Name, "err", err)
			status, detail = wire.CmdFailed, err.Error()
		} else {
			c.log.Info("command done", "cmd_id", cmd.CmdID, "name", cmd.Name)
		}
		c.ackCmdWait(cmd.CmdID, status, detail)
		if c.AfterCommand != nil {
			c.AfterCommand(cmd, status)
		}
	}()
}

type progressKey struct{}

func withProgress(ctx context.Context, f func(string)) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// Progress reports how far a running command is: the uplink sends a
// "running" cmd/ack with detail (a phrase or a percentage, such as "gzip
// 40%"). It does nothing outside a command's context.
func Progress(ctx context.Context, detail string) {
	if f, ok := ctx.Value(progressKey{}).(func(string)); ok {
		f(detail)
	}
}

// runCmd calls OnCommand, turning a panic into a failure.
func (c *Client) runCmd(ctx context.Context, cmd wire.Cmd) (detail string, err error) {
	if c.OnCommand == nil {
		return "", fmt.Errorf("command %q is not supported", cmd.Name)
	}
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("command panicked", "cmd_id", cmd.CmdID, "name", cmd.Name, "panic", p)
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.OnCommand(ctx, cmd)
}

// ErrAnswerLater, returned (wrapped) by OnCommand, sends no final status:
// the command's outcome is reported later with AckCommand, possibly by the
// next process (an update confirmed after a restart).
var ErrAnswerLater = errors.New("the outcome is reported later")

// AckCommand publishes a status for a command, such as the outcome of one
// that returned ErrAnswerLater. It fails when the client is not connected.
func (c *Client) AckCommand(id, status, detail string) error {
	ack := wire.CmdAck{V: wire.Version, CmdID: id, Status: status, Detail: detail}
	b, err := wire.Marshal(ack)
	if err != nil {
		return err
	}
	c.cmdMu.Lock()
	c.cmdSeen.put(ack)
	c.cmdMu.Unlock()
	return c.publish(c.topics.cmdAck, 1, b)
}

// ackCmd remembers a command's latest status and publishes it.
func (c *Client) ackCmd(id, status, detail string) {
	ack := wire.CmdAck{V: wire.Version, CmdID: id, Status: status, Detail: detail}
	c.cmdMu.Lock()
	c.cmdSeen.put(ack)
	c.cmdMu.Unlock()
	c.publishCmdAck(ack)
}

// ackCmdWait is ackCmd for a final status: it waits (at most
// ConnectTimeout) until the broker has the ack, so that AfterCommand may
// end the process (restart) without losing it.
func (c *Client) ackCmdWait(id, status, detail string) {
	ack := wire.CmdAck{V: wire.Version, CmdID: id, Status: status, Detail: detail}
	c.cmdMu.Lock()
	c.cmdSeen.put(ack)
	c.cmdMu.Unlock()
	b, err := wire.Marshal(ack)
	if err != nil {
		return
	}
	c.connMu.Lock()
	cl := c.conn
	c.connMu.Unlock()
	if cl == nil {
		c.log.Debug("publish cmd/ack", "cmd_id", id, "status", status, "err", ErrNotConnected)
		return
	}
	tok := cl.Publish(c.topics.cmdAck, 1, false, b)
	if !tok.WaitTimeout(c.ConnectTimeout) || tok.Error() != nil {
		c.log.Debug("publish cmd/ack", "cmd_id", id, "status", status, "err", tok.Error())
	}
}

func (c *Client) publishCmdAck(ack wire.CmdAck) {
	b, err := wire.Marshal(ack)
	if err == nil {
		err = c.publish(c.topics.cmdAck, 1, b)
	}
	if err != nil {
		// The fleet repeats the command; the repeat is answered from memory.
		c.log.Debug("publish cmd/ack", "cmd_id", ack.CmdID, "status", ack.Status, "err", err)
	}
}

// configLoop applies desired configs one at a time, the newest first.
func (c *Client) configLoop(ctx context.Context) {
	for {
		var d wire.ConfigDesired
		select {
		case <-ctx.Done():
			return
		case d = <-c.configs:
		}
	newest:
		for {
			select {
			case n := <-c.configs:
				d = n
			default:
				break newest
			}
		}
		c.applyConfig(ctx, d)
	}
}

func (c *Client) applyConfig(ctx context.Context, d wire.ConfigDesired) {
	rep := wire.ConfigReported{V: wire.Version, Version: d.Version, Applied: true}
	if d.Version > c.configVersion.Load() {
		err := errors.New("config is not supported by this gateway")
		if c.OnConfig != nil {
			err = c.OnConfig(ctx, d)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			rep.Applied, rep.Error = false, err.Error()
			c.log.Warn("desired config not applied", "version", d.Version, "err", err)
		} else {
			c.configVersion.Store(d.Version)
			c.log.Info("desired config applied", "version", d.Version)
		}
	}
	b, err := wire.Marshal(rep)
	if err == nil {
		err = c.publish(c.topics.configReported, 1, b)
	}
	if err != nil {
		// The retained desired config comes again at the next connect.
		c.log.Debug("publish config/reported", "version", d.Version, "err", err)
	}
}

// cmdLRU remembers the latest ack of the most recent command ids.
type cmdLRU struct {
	max   int
	order *list.List // of wire.CmdAck, most recent at the front
	byID  map[string]*list.Element
}

func newCmdLRU(max int) *cmdLRU {
	return &cmdLRU{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

func (l *cmdLRU) get(id string) (wire.CmdAck, bool) {
	e, ok := l.byID[id]
	if !ok {
		return wire.CmdAck{}, false
	}
	l.order.MoveToFront(e)
	return e.Value.(wire.CmdAck), true
}

func (l *cmdLRU) put(ack wire.CmdAck) {
	if e, ok := l.byID[ack.CmdID]; ok {
		e.Value = ack
		l.order.MoveToFront(e)
		return
	}
	l.byID[ack.CmdID] = l.order.PushFront(ack)
	for l.order.Len() > l.max {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.byID, old.Value.(wire.CmdAck).CmdID)
	}
}
