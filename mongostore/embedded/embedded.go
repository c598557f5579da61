// Package embedded starts a MongoDB-compatible server inside the current
// process: FerretDB v1 over SQLite files in a directory of your choice.
//
// It exists so that tests and the example application run against a real
// MongoDB wire protocol server on machines that have no MongoDB. It suits
// development and small installations (hundreds to a few thousand users):
// FerretDB answers every lookup with a scan, about 5 ms per 1,000 documents.
// Point production deployments at a real MongoDB instead.
//
//	srv, err := embedded.Start(ctx, embedded.WithDir("data"))
//	if err != nil { ... }
//	defer srv.Stop()
//	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
//
// Disconnect every client before calling [Server.Stop]: FerretDB gives open
// connections a grace period of a few seconds.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// newMu serialises ferretdb.New, which writes a package-level variable of
// FerretDB's and is a data race when called concurrently.
var newMu sync.Mutex

// Server is a running embedded FerretDB. Its methods are safe for concurrent use.
type Server struct {
	uri     string
	cancel  context.CancelFunc
	done    chan error
	tempDir string
	once    sync.Once
	stopErr error
}

type config struct {
	dir    string
	addr   string
	logger *slog.Logger
}

// Option configures [Start].
type Option func(*config)

// WithDir keeps the SQLite files in dir, creating it if needed, so data
// survives restarts. The default is a new temporary directory that
// [Server.Stop] removes.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithAddr sets the TCP address to listen on. The default, "127.0.0.1:0",
// lets the system choose a free loopback port; read it back from [Server.URI].
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithLogger sends FerretDB's own log lines to logger. The default discards
// them (FerretDB logs a multi-line dump of every error reply at WARN level).
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.logger = logger } }

// Start starts FerretDB with the SQLite backend and returns once it listens.
// ctx bounds only the start; the server runs until [Server.Stop].
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := config{addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Server{done: make(chan error, 1)}
	dir := cfg.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ginusers-ferretdb-")
		if err != nil {
			return nil, fmt.Errorf("embedded: %w", err)
		}
		dir, s.tempDir = tmp, tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: cfg.addr},
		Logger:    cfg.logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
	})
	newMu.Unlock()
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("embedded: start FerretDB: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.uri = f.MongoDBURI()
	go func() { s.done <- f.Run(runCtx) }()
	return s, nil
}

// URI returns the MongoDB connection string of the server, such as
// "mongodb://127.0.0.1:41193/".
func (s *Server) URI() string { return s.uri }

// Stop stops the server and waits for it, then removes the temporary
// directory if [WithDir] was not given. Calling it again returns the first
// result.
func (s *Server) Stop() error {
	s.once.Do(func() {
		s.cancel()
		err := <-s.done
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		s.stopErr = err
		s.cleanup()
	})
	return s.stopErr
}

func (s *Server) cleanup() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}
