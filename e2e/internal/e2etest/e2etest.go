// Package e2etest holds what the e2e test packages share: a clock the
// test moves, and a bounded wait for goroutines.
package e2etest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a time source the test moves by hand, safe for concurrent use:
// give Now to an option such as ginusers.WithClock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads now until it is moved.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// WaitGroup waits for wg, at most d, and fails the test naming what it
// waited for when wg is not done by then: a deadlock fails its own test
// instead of hanging the package until go test's timeout. The goroutines
// still running are left behind (their requests end with the test's
// context).
func WaitGroup(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %v; a deadlock, or a wait that ignores its context", what, d)
	}
}
