package main

import (
	"context"
	"log/slog"
	"time"
)

// purgeEvery runs purge every period in a goroutine of a, until a closes,
// and logs its failures with what. FerretDB cannot expire documents
// itself (no TTL index): expired tokens and console sessions are refused
// when read anyway, and this deletes the rest.
func purgeEvery(ctx context.Context, a *app, period time.Duration, logger *slog.Logger, what string, purge func(ctx context.Context, now time.Time) error) {
	purgeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-purgeCtx.Done():
				return
			case now := <-t.C:
				if err := purge(purgeCtx, now); err != nil && purgeCtx.Err() == nil {
					logger.Warn(what, "error", err)
				}
			}
		}
	}()
	a.closers = append(a.closers, func() { cancel(); <-done })
}
