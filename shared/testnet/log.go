package testnet

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logSink routes every daemon's log records to t.Log and keeps their
// messages and attributes so tests can count events. Once the cluster has
// stopped it drops records: a goroutine a daemon left behind must not call
// t.Log after the test is over.
type logSink struct {
	t testing.TB

	mu      sync.Mutex
	closed  bool
	records []logRecord
}

type logRecord struct {
	daemon string
	msg    string
	attrs  map[string]string
}

func (s *logSink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// logger returns an Info-level logger whose lines start with daemon.
func (s *logSink) logger(daemon string) *slog.Logger {
	text := slog.NewTextHandler(lineWriter{s, daemon}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // t.Log has its own timing
			}
			return a
		},
	})
	return slog.New(&logHandler{Handler: text, sink: s, daemon: daemon})
}

func (s *logSink) add(r logRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.records = append(s.records, r)
	}
}

// count returns how many records match; see Net.Logged.
func (s *logSink) count(daemon, msg string, kv []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
outer:
	for _, r := range s.records {
		if (daemon != "" && r.daemon != daemon) || r.msg != msg {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if r.attrs[kv[i]] != kv[i+1] {
				continue outer
			}
		}
		n++
	}
	return n
}

// lineWriter receives one formatted record per Write (slog's text handler
// writes each record at once) and passes it to t.Log.
type lineWriter struct {
	s      *logSink
	daemon string
}

func (w lineWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if !w.s.closed {
		w.s.t.Log(w.daemon + ": " + strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// logHandler records each record's message and own attributes, then hands
// it on to the text handler.
type logHandler struct {
	slog.Handler
	sink   *logSink
	daemon string
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make(map[string]string, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.sink.add(logRecord{daemon: h.daemon, msg: r.Message, attrs: attrs})
	return h.Handler.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{Handler: h.Handler.WithAttrs(as), sink: h.sink, daemon: h.daemon}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{Handler: h.Handler.WithGroup(name), sink: h.sink, daemon: h.daemon}
}
