package ginusers_test

import (
	"sync"
	"testing"
	"time"
)

// raceTimeout bounds the wait of a test for its concurrent requests: far
// more than they take on a loaded 2-core machine under -race, far less than
// go test's timeout. A deadlock then fails its own test, saying what it
// waited for, instead of hanging the package until the timeout kills it.
const raceTimeout = 20 * time.Second

// waitGroup waits for wg, at most d, and fails the test naming what it
// waited for when wg is not done by then. The goroutines still running are
// left behind (their requests end with the test's context).
func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
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
