package ginusers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// slowMail is a token hook that holds every delivery until released, like
// an SMTP server that takes its time, and counts what it sees.
type slowMail struct {
	mu                   sync.Mutex
	calls, running, peak int
	cancelled            int
	release              chan struct{}
	started              chan struct{} // one value per delivery that starts
	perUser              map[string]int
}

func newSlowMail() *slowMail {
	return &slowMail{release: make(chan struct{}), started: make(chan struct{}, 100), perUser: map[string]int{}}
}

func (s *slowMail) hook(ctx context.Context, u *User, _ string) error {
	s.mu.Lock()
	s.calls++
	s.running++
	s.peak = max(s.peak, s.running)
	s.perUser[u.Email]++
	s.mu.Unlock()
	s.started <- struct{}{}
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.cancelled++
		s.mu.Unlock()
		return ctx.Err()
	case <-time.After(20 * time.Second): // never hang the suite
		return fmt.Errorf("slowMail: never released")
	}
}

func (s *slowMail) snapshot() (calls, peak, cancelled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.peak, s.cancelled
}

// waitStarted waits, with a deadline, for n deliveries to start.
func (s *slowMail) waitStarted(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-s.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("a delivery did not start within 10 s")
		}
	}
}

// TestDeliveryQueueIsBounded: a flood of forgot-password requests for
// eligible users neither blocks requests nor runs more deliveries than
// the bound; what does not fit in the backlog is dropped with a log line.
func TestDeliveryQueueIsBounded(t *testing.T) {
	mail := newSlowMail()
	logs := &logBuffer{}
	a := newApp(t, ginusers.WithDeliveryQueue(2, 3), ginusers.OnAfterForgotPassword(mail.hook),
		ginusers.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	const users = 12
	for i := range users {
		a.user(fmt.Sprintf("knight%02d@camelot.bt", i), true, false, false)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range users {
			r := a.req("POST", "/auth/forgot-password", map[string]any{"email": fmt.Sprintf("knight%02d@camelot.bt", i)})
			if r.Code != http.StatusAccepted {
				t.Errorf("forgot-password #%d = %d, want 202", i, r.Code)
			}
		}
	}()
	// Every request is answered while the deliveries are stuck.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("forgot-password requests blocked behind slow deliveries")
	}
	mail.waitStarted(t, 2)
	if calls, peak, _ := mail.snapshot(); calls != 2 || peak != 2 {
		t.Fatalf("while blocked: %d deliveries started, %d at once; want 2 and 2 (the worker bound)", calls, peak)
	}
	close(mail.release)
	a.waitDeliveries()
	calls, peak, _ := mail.snapshot()
	if calls != 2+3 || peak > 2 {
		t.Fatalf("after release: %d deliveries, at most %d at once; want %d (2 running + a backlog of 3) and at most 2", calls, peak, 2+3)
	}
	if n := strings.Count(logs.String(), "delivery queue is full"); n != users-5 {
		t.Fatalf("%d drops logged, want %d:\n%s", n, users-5, logs.String())
	}
}

// TestDeliveryQueueCoalesces: requests for one user while a delivery for
// them waits in the queue are one delivery.
func TestDeliveryQueueCoalesces(t *testing.T) {
	mail := newSlowMail()
	a := newApp(t, ginusers.WithDeliveryQueue(1, 10), ginusers.OnAfterForgotPassword(mail.hook))
	a.user("lancelot@camelot.bt", true, false, false)
	a.user("galahad@camelot.bt", true, false, false)
	// Galahad's delivery holds the only worker.
	wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "galahad@camelot.bt"}), 202)
	mail.waitStarted(t, 1)
	for range 8 {
		wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "Lancelot@camelot.bt"}), 202)
	}
	close(mail.release)
	a.waitDeliveries()
	mail.mu.Lock()
	defer mail.mu.Unlock()
	if got := mail.perUser["lancelot@camelot.bt"]; got != 1 {
		t.Fatalf("8 requests while one was queued gave %d deliveries, want 1", got)
	}
}

// TestShutdownDrainsWithADeadline: Shutdown waits for deliveries until its
// deadline, then cancels the running ones and drops the queued ones; it
// never hangs, and later requests are still answered 202.
func TestShutdownDrainsWithADeadline(t *testing.T) {
	mail := newSlowMail()
	a := newApp(t, ginusers.WithDeliveryQueue(1, 10), ginusers.OnAfterForgotPassword(mail.hook))
	a.user("gawain@camelot.bt", true, false, false)
	a.user("gareth@camelot.bt", true, false, false)
	wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "gawain@camelot.bt"}), 202)
	wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "gareth@camelot.bt"}), 202)
	mail.waitStarted(t, 1)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.m.Shutdown(ctx)
	if err == nil {
		t.Fatal("Shutdown() with a delivery stuck = nil, want an error")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Shutdown() took %v, want about its 200 ms deadline", took)
	}
	calls, _, cancelled := mail.snapshot()
	if calls != 1 || cancelled != 1 {
		t.Fatalf("after Shutdown: %d deliveries started, %d cancelled; want 1 and 1 (the queued one dropped)", calls, cancelled)
	}
	// After shutdown, requests are answered and nothing is delivered.
	wantStatus(t, a.req("POST", "/auth/forgot-password", map[string]any{"email": "gawain@camelot.bt"}), 202)
	if calls, _, _ := mail.snapshot(); calls != 1 {
		t.Fatalf("a delivery started after Shutdown")
	}
	// An idle queue shuts down at once.
	b := newApp(t)
	if err := b.m.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown() of an idle queue = %v, want nil", err)
	}
}

func TestDeliveryQueueOptionIsValidated(t *testing.T) {
	a := newApp(t)
	for _, tt := range []struct{ workers, backlog int }{{0, 1}, {1, 0}, {-1, 5}} {
		if _, err := ginusers.New[Fields](a.store, ginusers.WithSecret(testSecret), ginusers.WithDeliveryQueue(tt.workers, tt.backlog)); err == nil {
			t.Fatalf("New() with WithDeliveryQueue(%d, %d) = nil error, want a *ConfigError", tt.workers, tt.backlog)
		}
	}
}
