package ginusers

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// deliveryTimeout bounds one delivery (an SMTP session, say).
const deliveryTimeout = time.Minute

// deliveryJob is one token to issue and deliver, off the request path.
type deliveryJob struct {
	key  string // what and for whom: jobs with one key are coalesced
	what string
	run  func(context.Context) error
}

// deliveryQueue runs the deliveries of forgot-password and request-verify
// tokens off the request path with bounded resources: at most workers run
// at once, at most backlog wait; a job for a key that is waiting already is
// coalesced with it; a job that finds the backlog full is dropped with a
// log line. Enqueueing never blocks. Workers are started on demand and
// exit when the queue is empty, so an idle queue holds no goroutine.
type deliveryQueue struct {
	workers, backlog int
	logger           *slog.Logger

	mu      sync.Mutex
	jobs    []deliveryJob
	waiting map[string]bool // keys of the jobs in jobs
	running int
	closed  bool
	ctx     context.Context // cancelled when Shutdown gives up
	cancel  context.CancelFunc
	idle    chan struct{} // closed when running and jobs are both zero; nil while idle
}

func newDeliveryQueue(workers, backlog int, logger *slog.Logger) *deliveryQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &deliveryQueue{workers: workers, backlog: backlog, logger: logger, waiting: map[string]bool{}, ctx: ctx, cancel: cancel}
}

// enqueue queues job and reports whether it was queued or coalesced with a
// waiting job of the same key; false means it was dropped.
func (q *deliveryQueue) enqueue(ctx context.Context, job deliveryJob) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		q.logger.WarnContext(ctx, "ginusers: "+job.what+" dropped: shutting down")
		return false
	case q.waiting[job.key]:
		return true // the waiting job will deliver a token made when it runs
	case len(q.jobs) >= q.backlog:
		q.logger.WarnContext(ctx, "ginusers: "+job.what+" dropped: the delivery queue is full", "backlog", q.backlog)
		return false
	}
	q.jobs = append(q.jobs, job)
	q.waiting[job.key] = true
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	if q.running < q.workers {
		q.running++
		go q.work()
	}
	return true
}

func (q *deliveryQueue) work() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running--
			if q.running == 0 && q.idle != nil {
				close(q.idle)
				q.idle = nil
			}
			q.mu.Unlock()
			return
		}
		job := q.jobs[0]
		q.jobs[0] = deliveryJob{}
		q.jobs = q.jobs[1:]
		delete(q.waiting, job.key)
		q.mu.Unlock()

		ctx, cancel := context.WithTimeout(q.ctx, deliveryTimeout)
		if err := job.run(ctx); err != nil {
			q.logger.ErrorContext(ctx, "ginusers: "+job.what+" failed", "error", err)
		}
		cancel()
	}
}

// wait waits until no job is queued or running, or ctx ends.
func (q *deliveryQueue) wait(ctx context.Context) error {
	for {
		q.mu.Lock()
		idle := q.idle
		q.mu.Unlock()
		if idle == nil {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// shutdown stops accepting jobs and waits until the queued and running
// ones are done or ctx ends; then it cancels the deliveries still running
// and waits for them to return, dropping those still queued.
func (q *deliveryQueue) shutdown(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	if q.wait(ctx) == nil {
		return nil
	}
	q.mu.Lock()
	dropped := len(q.jobs)
	q.jobs, q.waiting = nil, map[string]bool{}
	q.mu.Unlock()
	q.cancel()
	// The running deliveries see their context cancelled; give them a
	// moment to return, but never hang on one that ignores it.
	grace, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = q.wait(grace)
	q.logger.Warn("ginusers: deliveries abandoned at shutdown", "dropped", dropped)
	return errors.Join(errors.New("ginusers: deliveries still pending at shutdown"), ctx.Err())
}

// deliver has run make and deliver a token for the user with the given
// id, off the request path, so that answers to forgot-password and
// request-verify take the same time whether or not the address exists.
// The user is read again when the job runs, and skipped unless eligible.
func (m *Manager[F]) deliver(ctx context.Context, what, userID string, eligible func(*User[F]) bool, issue func(context.Context, *User[F]) error) {
	m.queue.enqueue(ctx, deliveryJob{key: what + "\x00" + userID, what: what, run: func(ctx context.Context) error {
		u, err := m.store.Get(ctx, userID)
		if errors.Is(err, ErrUserNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !eligible(u) {
			return nil
		}
		return issue(ctx, u)
	}})
}

// WaitDeliveries waits until no token delivery is queued or running, or
// until ctx ends (it then returns ctx's error). Tests use it to see what
// the routes delivered; unlike [Manager.Shutdown] it leaves the queue open.
func (m *Manager[F]) WaitDeliveries(ctx context.Context) error { return m.queue.wait(ctx) }

// Shutdown stops the delivery of forgot-password and request-verify tokens
// that the routes queued: it waits for the queued and running deliveries
// until ctx ends, then cancels those still running and drops the rest,
// returning an error. Call it when shutting down, after the HTTP server has
// stopped; a delivery queued after it is dropped.
func (m *Manager[F]) Shutdown(ctx context.Context) error { return m.queue.shutdown(ctx) }
