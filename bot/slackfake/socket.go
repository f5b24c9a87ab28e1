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
	return s.sendEnvelope(ctx, "slash_commands", payload)
}

// SendInteractive delivers an interactive (block_actions) envelope and returns the ack's payload.
func (s *Server) SendInteractive(ctx context.Context, p ClickParams) (json.RawMessage, error) {
	if p.TeamID == "" {
		p.TeamID = s.o.TeamID
	}
	if p.ResponseURL == "" {
		p.ResponseURL = s.ResponseURL("click")
	}
	return s.sendEnvelope(ctx, "interactive", blockActions(p))
}

func (s *Server) sendEnvelope(ctx context.Context, typ string, payload any) (json.RawMessage, error) {
	s.mu.Lock()
	id := s.nextID("env-")
	acked := make(chan json.RawMessage, 1)
	s.acks[id] = acked
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}()

	for attempt := 0; ; attempt++ {
		conn, err := s.waitConn(ctx)
		if err != nil {
			return nil, err
		}
		env := map[string]any{
			"envelope_id":              id,
			"type":                     typ,
			"payload":                  payload,
			"accepts_response_payload": true,
			"retry_attempt":            attempt,
			"retry_reason":             "",
		}
		if attempt > 0 {
			env["retry_reason"] = "timeout"
		}
		if err := conn.writeJSON(env); err != nil {
			s.forget(conn)
			continue
		}
		select {
		case p := <-acked:
			return p, nil
		case <-conn.done:
			select {
			case p := <-acked: // acked just before the drop
				return p, nil
			default: // dropped before the ack: deliver again on the next connection
			}
		case <-s.closed:
			return nil, errors.New("slackfake: server closed")
		case <-ctx.Done():
			return nil, fmt.Errorf("slackfake: waiting for the ack of %s: %w", id, ctx.Err())
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
