// Package signals is a small, typed, in-process signal bus.
//
// A [Signal] is a named event with a payload type T. Code that is interested in
// the event connects a [Receiver]; code that raises the event calls
// [Signal.Send]. It is the Go counterpart of django.dispatch.Signal as used by
// python-social-auth and edx-auth-backends (for example the auth_complete
// signal), with three deliberate differences:
//
//   - the payload is typed (one Signal value per payload type), so receivers
//     never type-assert keyword arguments;
//   - a receiver that returns an error or panics never stops the sender nor
//     the receivers after it: the failure is logged and reported in the
//     [Response] slice that Send returns (Django's send would propagate it);
//   - there is no global registry: a Signal is an ordinary value that its
//     owner creates with [New] and exposes (for example as a field).
//
// A Signal is safe for concurrent use. Connect and Disconnect copy the
// receiver list under a mutex (copy on write); Send takes a snapshot of the
// list without holding any lock while receivers run, so a receiver may call
// Connect, Disconnect or even Send on the same signal.
package signals

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Receiver is a function connected to a [Signal]. sender names the component
// that sent the signal (for example a backend name); payload is the event data.
// A non-nil error is logged and reported by [Signal.Send]; it does not stop
// other receivers.
type Receiver[T any] func(ctx context.Context, sender string, payload T) error

// ID identifies one connection of a [Receiver] to a [Signal]. IDs are unique
// per Signal and never reused; the zero ID is never a valid connection.
type ID uint64

// Response is the outcome of one receiver during [Signal.Send].
type Response struct {
	// ID is the connection that produced this response.
	ID ID
	// Err is nil when the receiver returned nil. It is the receiver's error
	// when it returned one, or a *[PanicError] when it panicked.
	Err error
}

// PanicError reports a panic recovered from a receiver.
type PanicError struct {
	// Signal is the name of the signal being sent.
	Signal string
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine stack captured when the panic was recovered.
	Stack []byte
}

// maxPanicText bounds how much of a panic value Error prints.
const maxPanicText = 256

// Error describes the panic. The panic value is formatted and truncated to a
// few hundred bytes, so a huge value does not produce a huge message.
func (e *PanicError) Error() string {
	return fmt.Sprintf("signals: receiver of signal %q panicked: %s", e.Signal, truncate(fmt.Sprint(e.Value), maxPanicText))
}

// Unwrap returns the panic value when it is an error (for example a
// runtime.Error), so errors.Is and errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// truncate shortens s to at most n bytes (plus an ellipsis) without splitting
// a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}

// connection is one connected receiver.
type connection[T any] struct {
	id ID
	fn Receiver[T]
}

// Signal is a named, typed event. Create it with [New]; the zero value is not
// usable. A Signal must not be copied after first use.
type Signal[T any] struct {
	name   string
	logger *slog.Logger

	mu     sync.Mutex // serialises writers (Connect, Disconnect)
	lastID ID         // guarded by mu
	// receivers holds an immutable slice; writers replace it under mu.
	receivers atomic.Pointer[[]connection[T]]
}

// New returns a signal with the given name and no receivers. The name appears
// in log records and in [PanicError]. A nil logger discards log output.
func New[T any](name string, logger *slog.Logger) *Signal[T] {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Signal[T]{name: name, logger: logger}
}

// Name returns the signal's name.
func (s *Signal[T]) Name() string { return s.name }

// Connect adds r after the receivers already connected and returns the ID of
// the new connection. Connecting the same function twice makes two
// connections. A nil r is not connected and Connect returns the zero ID.
func (s *Signal[T]) Connect(r Receiver[T]) ID {
	if r == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastID++
	id := s.lastID
	var old []connection[T]
	if p := s.receivers.Load(); p != nil {
		old = *p
	}
	next := make([]connection[T], len(old), len(old)+1)
	copy(next, old)
	next = append(next, connection[T]{id: id, fn: r})
	s.receivers.Store(&next)
	return id
}

// Disconnect removes the connection with the given ID and reports whether it
// was connected. A Send already in progress still calls the receivers it
// started with (see [Signal.Send]).
func (s *Signal[T]) Disconnect(id ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.receivers.Load()
	if p == nil {
		return false
	}
	old := *p
	for i, c := range old {
		if c.id != id {
			continue
		}
		next := make([]connection[T], 0, len(old)-1)
		next = append(next, old[:i]...)
		next = append(next, old[i+1:]...)
		s.receivers.Store(&next)
		return true
	}
	return false
}

// Len returns the number of connected receivers.
func (s *Signal[T]) Len() int {
	if p := s.receivers.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// Send calls every receiver connected when Send starts, one after another in
// connection order, on the calling goroutine, and returns one [Response] per
// receiver in the same order (nil when there are no receivers).
//
// Every receiver is called even when ctx is already cancelled: receivers that
// do I/O should honour ctx themselves. An error returned by a receiver is
// logged at WARN; a panic is recovered, logged at ERROR with its stack and
// reported as a *[PanicError]. Log records carry the signal name, the sender
// and the receiver ID, never the payload. Send itself never panics.
//
// Connections made or removed while Send runs (including by a receiver) take
// effect from the next Send.
func (s *Signal[T]) Send(ctx context.Context, sender string, payload T) []Response {
	p := s.receivers.Load()
	if p == nil || len(*p) == 0 {
		return nil
	}
	snapshot := *p
	responses := make([]Response, len(snapshot))
	for i, c := range snapshot {
		pe, err := s.call(ctx, c, sender, payload)
		switch {
		case pe != nil:
			responses[i] = Response{ID: c.id, Err: pe}
			s.logger.LogAttrs(ctx, slog.LevelError, "signals: receiver panicked",
				slog.String("signal", s.name), slog.String("sender", sender),
				slog.Uint64("receiver_id", uint64(c.id)),
				slog.String("error", pe.Error()), slog.String("stack", string(pe.Stack)))
		case err != nil:
			responses[i] = Response{ID: c.id, Err: err}
			s.logger.LogAttrs(ctx, slog.LevelWarn, "signals: receiver failed",
				slog.String("signal", s.name), slog.String("sender", sender),
				slog.Uint64("receiver_id", uint64(c.id)), slog.String("error", errorText(err)))
		default:
			responses[i] = Response{ID: c.id}
		}
	}
	return responses
}

// call runs one receiver. A panic is recovered and returned as pe.
func (s *Signal[T]) call(ctx context.Context, c connection[T], sender string, payload T) (pe *PanicError, err error) {
	defer func() {
		if v := recover(); v != nil {
			pe, err = &PanicError{Signal: s.name, Value: v, Stack: debug.Stack()}, nil
		}
	}()
	return nil, c.fn(ctx, sender, payload)
}

// errorText returns err.Error(), truncated, or a placeholder when the error's
// Error method itself panics (Send must never panic).
func errorText(err error) (text string) {
	defer func() {
		if recover() != nil {
			text = fmt.Sprintf("%T (Error method panicked)", err)
		}
	}()
	return truncate(err.Error(), maxPanicText*4)
}
