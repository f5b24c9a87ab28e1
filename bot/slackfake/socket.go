package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is one Socket Mode client connection.
type wsConn struct {
	c    *websocket.Conn
	wmu  sync.Mutex // gorilla allows one concurrent writer of data frames
	done chan struct{}
	once sync.Once
}

func (c *wsConn) writeJSON(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteJSON(v)
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.c.Close()
	})
}

// serveSocket is the WebSocket URL handed out by apps.connections.open (one use).
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.PathValue("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used socket ticket", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client already
	}
	conn := &wsConn{c: c, done: make(chan struct{})}
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		conn.close()
		return
	default:
	}
	s.conns[conn] = true
	n := len(s.conns)
	s.mu.Unlock()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      map[string]any{"host": "slackfake", "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.o.AppID},
	}
	if err := conn.writeJSON(hello); err != nil {
		s.forget(conn)
		return
	}
	s.record(Event{Kind: EventSocketConnected})
	go s.ping(conn)
	s.readAcks(conn)
}

// ping sends WebSocket pings like Slack; slack-go treats their absence as a dead connection.
func (s *Server) ping(conn *wsConn) {
	t := time.NewTicker(s.o.PingInterval)
	defer t.Stop()
	for {
		if err := conn.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-conn.done:
			return
		}
	}
}

// readAcks reads acknowledgements {"envelope_id":...,"payload":...} until the connection ends.
func (s *Server) readAcks(conn *wsConn) {
	defer s.forget(conn)
	for {
		_, data, err := conn.c.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		ch := s.acks[ack.EnvelopeID]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- ack.Payload:
			default: // a second ack for the same envelope
			}
		}
		s.record(Event{Kind: EventSocketAck, EnvelopeID: ack.EnvelopeID, Payload: ack.Payload})
	}
}

// forget closes conn and removes it from the live set (once).
func (s *Server) forget(conn *wsConn) {
	s.mu.Lock()
	live := s.conns[conn]
	delete(s.conns, conn)
	s.mu.Unlock()
	conn.close()
	if live {
		s.record(Event{Kind: EventSocketClosed})
	}
}

// DropConnections closes every live Socket Mode connection abruptly (no close
// frame), as a network failure would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.forget(c)
	}
}

// Connections is the number of live Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Envelope is one Socket Mode envelope as written to a connection.
type Envelope struct {
	ID                     string // envelope_id, the same on every redelivery
	Type                   string // slash_commands, interactive, events_api
	RetryAttempt           int
	RetryReason            string
	AcceptsResponsePayload bool
	Payload                json.RawMessage
}

// Acked is the outcome of a Socket Mode delivery: the envelope and the
// payload of its ack (empty when the ack had none).
type Acked struct {
	EnvelopeID string
	Payload    json.RawMessage
}

// envelope is a sent envelope kept for redelivery.
type envelope struct {
	typ     string
	payload json.RawMessage
	accepts bool
	sent    int // writes so far; the next one's retry_attempt
}

// SendSlashCommand delivers a slash_commands envelope and returns the ack's
// payload (empty when the ack had none). Empty TeamID, ResponseURL, Command
// and TriggerID get defaults. It waits for a connection when there is none
// and, like Slack, redelivers on another connection when one drops before the ack.
func (s *Server) SendSlashCommand(ctx context.Context, p CommandParams) (json.RawMessage, error) {
	if p.TeamID == "" {
		p.TeamID = s.o.TeamID
	}
	if p.ResponseURL == "" {
		p.ResponseURL = s.ResponseURL("command")
	}
	payload := map[string]string{}
	for k, v := range CommandForm(p) {
		payload[k] = v[0]
	}
	a, err := s.sendEnvelope(ctx, "slash_commands", payload, true)
	return a.Payload, err
}

// SendInteractive delivers an interactive (block_actions) envelope and returns the ack's payload.
func (s *Server) SendInteractive(ctx context.Context, p ClickParams) (json.RawMessage, error) {
	if p.TeamID == "" {
		p.TeamID = s.o.TeamID
	}
	if p.ResponseURL == "" {
		p.ResponseURL = s.ResponseURL("click")
	}
	a, err := s.sendEnvelope(ctx, "interactive", blockActions(p), true)
	return a.Payload, err
}

// SendEvent delivers ev (an event_callback) as an events_api envelope and
// waits for the ack. Slack sends url_verification over HTTP only.
func (s *Server) SendEvent(ctx context.Context, ev EventCallback) (Acked, error) {
	if ev.Type != "event_callback" {
		return Acked{}, fmt.Errorf("slackfake: Socket Mode carries event_callback envelopes, not %q", ev.Type)
	}
	// Slack documents accepts_response_payload false for events.
	return s.sendEnvelope(ctx, "events_api", ev.Body, false)
}

// Redeliver sends an envelope again as Slack does when it saw no ack in
// time: the same envelope_id and payload, retry_attempt one more than the
// last delivery's (1 for the first redelivery), retry_reason "timeout".
// It works for every envelope type, slash commands and clicks included;
// find their IDs with Envelopes.
func (s *Server) Redeliver(ctx context.Context, envelopeID string) (Acked, error) {
	s.mu.Lock()
	_, found := s.envelopes[envelopeID]
	s.mu.Unlock()
	if !found {
		return Acked{}, fmt.Errorf("slackfake: no envelope %q was sent", envelopeID)
	}
	return s.deliver(ctx, envelopeID)
}

// Envelopes returns the envelopes sent to connections, of type typ ("" for
// all), oldest first; a redelivery appears again with its retry_attempt.
func (s *Server) Envelopes(typ string) []Envelope {
	var out []Envelope
	for _, e := range s.eventsOf(EventSocketSent) {
		if typ == "" || e.Envelope.Type == typ {
			out = append(out, *e.Envelope)
		}
	}
	return out
}

func (s *Server) sendEnvelope(ctx context.Context, typ string, payload any, acceptsResponse bool) (Acked, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Acked{}, fmt.Errorf("slackfake: encoding the %s payload: %w", typ, err)
	}
	s.mu.Lock()
	id := s.nextID("env-")
	s.envelopes[id] = &envelope{typ: typ, payload: raw, accepts: acceptsResponse}
	s.mu.Unlock()
	return s.deliver(ctx, id)
}

// deliver writes envelope id to a connection until one acks it, delivering
// again on another connection when one drops before the ack.
func (s *Server) deliver(ctx context.Context, id string) (Acked, error) {
	s.mu.Lock()
	if s.acks[id] != nil {
		s.mu.Unlock()
		return Acked{}, fmt.Errorf("slackfake: envelope %s is still waiting for its ack", id)
	}
	acked := make(chan json.RawMessage, 1)
	s.acks[id] = acked
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}()

	for {
		conn, err := s.waitConn(ctx)
		if err != nil {
			return Acked{}, err
		}
		s.mu.Lock()
		e := s.envelopes[id]
		env := Envelope{ID: id, Type: e.typ, RetryAttempt: e.sent, AcceptsResponsePayload: e.accepts, Payload: e.payload}
		if e.sent > 0 {
			env.RetryReason = "timeout"
		}
		e.sent++
		s.mu.Unlock()
		// Recorded before the write so that the log never shows an ack before its envelope.
		s.record(Event{Kind: EventSocketSent, Envelope: &env})
		if err := conn.writeJSON(map[string]any{
			"envelope_id":              env.ID,
			"type":                     env.Type,
			"payload":                  env.Payload,
			"accepts_response_payload": env.AcceptsResponsePayload,
			"retry_attempt":            env.RetryAttempt,
			"retry_reason":             env.RetryReason,
		}); err != nil {
			s.forget(conn)
			continue
		}
		select {
		case p := <-acked:
			return Acked{EnvelopeID: id, Payload: p}, nil
		case <-conn.done:
			select {
			case p := <-acked: // acked just before the drop
				return Acked{EnvelopeID: id, Payload: p}, nil
			default: // dropped before the ack: deliver again on the next connection
			}
		case <-s.closed:
			return Acked{}, errors.New("slackfake: server closed")
		case <-ctx.Done():
			return Acked{}, fmt.Errorf("slackfake: waiting for the ack of %s: %w", id, ctx.Err())
		}
	}
}

// waitConn returns a live connection (any: Slack picks one too), waiting for one.
func (s *Server) waitConn(ctx context.Context) (*wsConn, error) {
	for {
		s.mu.Lock()
		var conn *wsConn
		for c := range s.conns {
			conn = c
			break
		}
		changed := s.changed
		s.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-changed:
		case <-s.closed:
			return nil, errors.New("slackfake: server closed")
		case <-ctx.Done():
			return nil, fmt.Errorf("slackfake: no Socket Mode connection: %w", ctx.Err())
		}
	}
}
