package slackfake

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
)

// EventKind says what an Event records.
type EventKind string

// Event kinds.
const (
	EventCall            EventKind = "call"      // any Web API call (Call)
	EventMessage         EventKind = "message"   // chat.postMessage (Message)
	EventEphemeral       EventKind = "ephemeral" // chat.postEphemeral (Message)
	EventUpdate          EventKind = "update"    // chat.update (Message, after the update)
	EventDelete          EventKind = "delete"    // chat.delete (Message)
	EventUpload          EventKind = "upload"    // bytes received at an upload URL (Upload)
	EventFileShared      EventKind = "file_shared"
	EventResponse        EventKind = "response" // a response_url post (Response)
	EventSocketConnected EventKind = "socket_connected"
	EventSocketClosed    EventKind = "socket_closed"
	EventSocketAck       EventKind = "socket_ack" // EnvelopeID, Payload
	// EventSocketSent is an envelope written to a Socket Mode connection (Envelope).
	EventSocketSent EventKind = "socket_sent"
	// EventDelivered is a signed HTTP request the fake sent to the bot, with its answer (Delivery).
	EventDelivered EventKind = "delivered"
	// EventHomeView is a successful views.publish (Home).
	EventHomeView EventKind = "home_view"
	// EventFunctionCompleted is a successful functions.completeSuccess or completeError (Completion).
	EventFunctionCompleted EventKind = "function_completed"
)

// Event is one thing the fake saw. Exactly the field matching Kind is set.
type Event struct {
	Kind       EventKind
	Call       *Call
	Message    *Message
	Upload     *Upload
	Response   *ResponsePost
	EnvelopeID string
	Payload    json.RawMessage
	Envelope   *Envelope
	Delivery   *Delivery
	Home       *HomeView
	Completion *Completion
}

// Call is one Web API call as received (the token is not recorded).
type Call struct {
	Method string
	// Params are the form fields, or a JSON body's top-level fields (non-strings as JSON text).
	Params url.Values
	// JSON is the raw body when it was sent as JSON.
	JSON json.RawMessage
	// Error is the Slack error answered ("ratelimited" for a 429), "" on success.
	Error string
}

// Message is a posted, ephemeral, updated or deleted message.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	// User is who sees an ephemeral message.
	User string
	// DMUser is set when Channel is the bot's DM with that user.
	DMUser string
	Text   string
	Blocks json.RawMessage
	// UnfurlLinks and UnfurlMedia are the flags as sent; nil when not sent.
	UnfurlLinks *bool
	UnfurlMedia *bool
	Ephemeral   bool
	Deleted     bool
}

// Upload is a file announced by files.getUploadURLExternal.
type Upload struct {
	FileID   string
	Filename string
	// Declared is the length announced to files.getUploadURLExternal.
	Declared int64
	// Received is the byte count that reached the upload URL (-1: nothing yet).
	Received int64
	SHA256   string // hex, of the received bytes
	// Multipart is set when the bytes came as multipart/form-data rather than
	// raw; ContentLength is the request's header (-1: chunked, no length).
	Multipart     bool
	ContentLength int64
	// Bytes are the first Options.KeepUploadBytes received bytes.
	Bytes []byte
	// Completed is set by files.completeUploadExternal, with where it was shared.
	Completed      bool
	Channel        string
	ThreadTS       string
	Title          string
	InitialComment string
}

// ResponsePost is one post to a response_url.
type ResponsePost struct {
	ID              string // the id given to ResponseURL
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
	Text            string
	Blocks          json.RawMessage
	UnfurlLinks     *bool
	UnfurlMedia     *bool
	Body            json.RawMessage
}

// record appends events, wakes waiters, then calls OnEvent outside the lock.
func (s *Server) record(evs ...Event) {
	s.mu.Lock()
	s.events = append(s.events, evs...)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.o.OnEvent != nil {
		for _, e := range evs {
			s.o.OnEvent(e)
		}
	}
}

// Events returns every event so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// WaitFor returns the first event (recorded already or later) for which pred
// is true, or ctx's error.
func (s *Server) WaitFor(ctx context.Context, pred func(Event) bool) (Event, error) {
	seen := 0
	for {
		s.mu.Lock()
		evs := s.events[seen:]
		changed := s.changed
		s.mu.Unlock()
		for _, e := range evs {
			if pred(e) {
				return e, nil
			}
		}
		seen += len(evs)
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

func (s *Server) eventsOf(kind EventKind) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Calls returns the calls of method ("" for all), oldest first.
func (s *Server) Calls(method string) []Call {
	var out []Call
	for _, e := range s.eventsOf(EventCall) {
		if method == "" || e.Call.Method == method {
			out = append(out, *e.Call)
		}
	}
	return out
}

// Messages returns channel messages (chat.postMessage, DMs included) in
// their current state (updates applied), oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		out = append(out, *m)
	}
	return out
}

// Ephemerals returns chat.postEphemeral messages, oldest first.
func (s *Server) Ephemerals() []Message { return s.messagesOf(EventEphemeral) }

// Updates returns each chat.update as the message after it, oldest first.
func (s *Server) Updates() []Message { return s.messagesOf(EventUpdate) }

func (s *Server) messagesOf(kind EventKind) []Message {
	return recorded(s, kind, func(e Event) *Message { return e.Message })
}

// recorded returns the records of one kind of event, oldest first; field
// picks the record out of an event.
func recorded[T any](s *Server, kind EventKind, field func(Event) *T) []T {
	var out []T
	for _, e := range s.eventsOf(kind) {
		out = append(out, *field(e))
	}
	return out
}

// Uploads returns the files announced so far, oldest first.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.upOrder))
	for _, id := range s.upOrder {
		u := *s.uploads[id]
		u.Bytes = slices.Clone(u.Bytes)
		out = append(out, u)
	}
	return out
}

// ResponsePosts returns response_url posts, oldest first.
func (s *Server) ResponsePosts() []ResponsePost {
	return recorded(s, EventResponse, func(e Event) *ResponsePost { return e.Response })
}
