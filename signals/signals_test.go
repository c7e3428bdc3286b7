package signals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type user struct{ Name, Token string }

func record(calls *[]string, tag string, err error) Receiver[user] {
	return func(_ context.Context, sender string, u user) error {
		*calls = append(*calls, tag+":"+sender+":"+u.Name)
		return err
	}
}

func TestSendCallsReceiversInConnectionOrder(t *testing.T) {
	s := New[user]("auth_complete", nil)
	var calls []string
	a := s.Connect(record(&calls, "a", nil))
	b := s.Connect(record(&calls, "b", nil))
	c := s.Connect(record(&calls, "c", nil))

	got := s.Send(context.Background(), "edx-oauth2", user{Name: "ann"})

	if diff := cmp.Diff([]string{"a:edx-oauth2:ann", "b:edx-oauth2:ann", "c:edx-oauth2:ann"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Response{{ID: a}, {ID: b}, {ID: c}}, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if s.Name() != "auth_complete" || s.Len() != 3 {
		t.Errorf("Name, Len = %q, %d", s.Name(), s.Len())
	}
	if a == 0 || a == b || b == c {
		t.Errorf("ids not unique and non-zero: %d %d %d", a, b, c)
	}
}

func TestSendWithoutReceivers(t *testing.T) {
	s := New[int]("empty", nil)
	if got := s.Send(context.Background(), "x", 1); got != nil {
		t.Errorf("Send = %v, want nil", got)
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d", s.Len())
	}
}

func TestConnectNil(t *testing.T) {
	s := New[int]("s", nil)
	if id := s.Connect(nil); id != 0 {
		t.Errorf("Connect(nil) = %d, want 0", id)
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d after Connect(nil)", s.Len())
	}
}

func TestDisconnect(t *testing.T) {
	s := New[user]("s", nil)
	var calls []string
	a := s.Connect(record(&calls, "a", nil))
	b := s.Connect(record(&calls, "b", nil))
	c := s.Connect(record(&calls, "c", nil))

	if !s.Disconnect(b) {
		t.Fatal("Disconnect(b) = false")
	}
	if s.Disconnect(b) {
		t.Error("second Disconnect(b) = true")
	}
	if s.Disconnect(ID(999)) || s.Disconnect(0) {
		t.Error("Disconnect of unknown id = true")
	}
	got := s.Send(context.Background(), "x", user{Name: "n"})
	if diff := cmp.Diff([]string{"a:x:n", "c:x:n"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Response{{ID: a}, {ID: c}}, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	// IDs are never reused.
	d := s.Connect(record(&calls, "d", nil))
	if d == a || d == b || d == c {
		t.Errorf("reused id %d", d)
	}
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3", s.Len())
	}
}

func TestErrorAndPanicIsolation(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New[user]("auth_complete", logger)
	var calls []string
	boom := errors.New("boom")
	a := s.Connect(record(&calls, "a", boom))
	b := s.Connect(func(context.Context, string, user) error { panic("kaput") })
	c := s.Connect(func(_ context.Context, _ string, u user) error {
		var empty []string
		_ = empty[len(u.Name)] // runtime panic: index out of range
		return nil
	})
	d := s.Connect(record(&calls, "d", nil))

	var got []Response
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Send panicked: %v", v)
			}
		}()
		got = s.Send(context.Background(), "edx-oauth2", user{Name: "ann", Token: "SECRET-TOKEN"})
	}()

	if diff := cmp.Diff([]string{"a:edx-oauth2:ann", "d:edx-oauth2:ann"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(got) != 4 {
		t.Fatalf("got %d responses, want 4", len(got))
	}
	if got[0].ID != a || !errors.Is(got[0].Err, boom) {
		t.Errorf("response 0 = %+v", got[0])
	}
	var pe *PanicError
	if got[1].ID != b || !errors.As(got[1].Err, &pe) || pe.Value != "kaput" || pe.Signal != "auth_complete" || len(pe.Stack) == 0 {
		t.Errorf("response 1 = %+v", got[1])
	}
	var rt interface{ RuntimeError() }
	if got[2].ID != c || !errors.As(got[2].Err, &pe) || !errors.As(got[2].Err, &rt) {
		t.Errorf("response 2 = %+v, want a PanicError unwrapping to a runtime error", got[2])
	}
	if got[3].ID != d || got[3].Err != nil {
		t.Errorf("response 3 = %+v", got[3])
	}

	out := logs.String()
	if strings.Contains(out, "SECRET-TOKEN") || strings.Contains(out, "ann") {
		t.Errorf("payload leaked into logs:\n%s", out)
	}
	for _, want := range []string{
		`"level":"WARN"`, `"level":"ERROR"`, `"signal":"auth_complete"`,
		fmt.Sprintf(`"receiver_id":%d`, a), fmt.Sprintf(`"receiver_id":%d`, b), "kaput", "boom",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs missing %s:\n%s", want, out)
		}
	}
}

func TestPanicErrorTruncatesHugeValue(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	s := New[int]("s", nil)
	s.Connect(func(context.Context, string, int) error { panic(huge) })
	got := s.Send(context.Background(), "x", 1)
	msg := got[0].Err.Error()
	if len(msg) > 1024 {
		t.Errorf("Error() is %d bytes, want it truncated", len(msg))
	}
	if !strings.Contains(msg, "truncated") || !strings.HasPrefix(msg, `signals: receiver of signal "s" panicked: xxx`) {
		t.Errorf("Error() = %.200q", msg)
	}
	// Multi-byte runes are not split.
	if got := truncate(strings.Repeat("é", 10), 5); got != "éé…(truncated)" {
		t.Errorf("truncate = %q", got)
	}
}

func TestPanicNilAndErrorWithPanickingErrorMethod(t *testing.T) {
	s := New[int]("s", slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	s.Connect(func(context.Context, string, int) error { panic(nil) })
	s.Connect(func(context.Context, string, int) error { return (*badErr)(nil) })
	got := s.Send(context.Background(), "x", 1)
	var pe *PanicError
	if !errors.As(got[0].Err, &pe) {
		t.Errorf("panic(nil): response %+v, want PanicError", got[0])
	}
	if got[1].Err == nil {
		t.Errorf("bad error lost")
	}
}

type badErr struct{ msg string }

func (e *badErr) Error() string { return e.msg } // panics on nil receiver

func TestReceiverDisconnectsItselfDuringSend(t *testing.T) {
	s := New[int]("s", nil)
	var calls []string
	var self ID
	self = s.Connect(func(context.Context, string, int) error {
		calls = append(calls, "self")
		if !s.Disconnect(self) {
			t.Error("self Disconnect = false")
		}
		return nil
	})
	s.Connect(func(context.Context, string, int) error { calls = append(calls, "other"); return nil })

	first := s.Send(context.Background(), "x", 1)
	second := s.Send(context.Background(), "x", 2)

	if diff := cmp.Diff([]string{"self", "other", "other"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(first) != 2 || len(second) != 1 {
		t.Errorf("responses: %v then %v", first, second)
	}
}

func TestReceiverConnectsAndDisconnectsOthersDuringSend(t *testing.T) {
	s := New[int]("s", nil)
	var calls []string
	var later ID
	s.Connect(func(context.Context, string, int) error {
		calls = append(calls, "first")
		s.Disconnect(later) // takes effect from the next Send
		s.Connect(func(context.Context, string, int) error { calls = append(calls, "new"); return nil })
		return nil
	})
	later = s.Connect(func(context.Context, string, int) error { calls = append(calls, "later"); return nil })

	s.Send(context.Background(), "x", 1)
	if diff := cmp.Diff([]string{"first", "later"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestSendIgnoresCancelledContextButPassesIt(t *testing.T) {
	s := New[int]("s", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Connect(func(ctx context.Context, _ string, _ int) error { return ctx.Err() })
	got := s.Send(ctx, "x", 1)
	if len(got) != 1 || !errors.Is(got[0].Err, context.Canceled) {
		t.Errorf("Send = %+v", got)
	}
}

func TestConcurrentConnectDisconnectSend(t *testing.T) {
	s := New[int]("s", nil)
	var mu sync.Mutex
	total := 0
	recv := func(_ context.Context, _ string, n int) error {
		mu.Lock()
		total += n
		mu.Unlock()
		return nil
	}
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				id := s.Connect(recv)
				if !s.Disconnect(id) {
					t.Error("Disconnect of own id failed")
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				for _, r := range s.Send(context.Background(), "x", 1) {
					if r.Err != nil || r.ID == 0 {
						t.Errorf("bad response %+v", r)
					}
				}
				_ = s.Len()
			}
		}()
	}
	wg.Wait()
	if s.Len() != 0 {
		t.Errorf("Len = %d after all disconnected", s.Len())
	}
	// A receiver that stays connected sees every later Send.
	s.Connect(recv)
	mu.Lock()
	before := total
	mu.Unlock()
	s.Send(context.Background(), "x", 1)
	if total != before+1 {
		t.Errorf("total = %d, want %d", total, before+1)
	}
}

func BenchmarkSend(b *testing.B) {
	for _, n := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("receivers=%d", n), func(b *testing.B) {
			s := New[int]("bench", nil)
			for range n {
				s.Connect(nopReceiver)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = s.Send(ctx, "x", i)
			}
			b.StopTimer()
			// Baseline measured in the same run: one direct call of a receiver,
			// so the ratio shows the bus's overhead per Send.
			start := time.Now()
			for i := 0; i < b.N; i++ {
				_ = nopReceiver(ctx, "x", i)
			}
			if base := time.Since(start); base > 0 {
				b.ReportMetric(float64(b.Elapsed())/float64(base), "x-one-direct-call")
			}
		})
	}
}

//go:noinline
func nopReceiver(context.Context, string, int) error { return nil }
