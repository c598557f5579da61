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
//
// # Security
//
// FerretDB has no authentication: whoever can connect can read and rewrite
// every document. So by default the server opens no TCP port. It listens on
// a Unix domain socket, ferretdb.sock, with mode 0600 in a directory with
// mode 0700, so that only the owner of the process (and root) can connect:
//
//   - in the data directory, when that directory is private (no permission
//     bits for group or others; [Start] creates it with mode 0700);
//   - otherwise in its private subdirectory [PrivateSubdir] (mode 0700),
//     where the database files go too: SQLite creates them readable by
//     whoever can enter their directory, and they hold password hashes;
//   - when that path would be longer than the 103 bytes every Unix accepts
//     for a socket, in a new private directory under [os.TempDir] with a
//     short random name, removed by [Server.Stop].
//
// A socket file left in the data directory by a process that crashed is
// removed at start; one that a running server still answers on is an error,
// so two servers never share a directory. [WithAddr] opts into a TCP
// listener instead, reachable by every local user.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// SocketName is the file name of the server's Unix domain socket. The ".sock"
// suffix is how MongoDB drivers recognise a socket path in a URI.
const SocketName = "ferretdb.sock"

// maxSocketPath is the longest socket path that every Unix accepts: sun_path
// holds 104 bytes on macOS and the BSDs and 108 on Linux, NUL included.
const maxSocketPath = 103

// newMu serialises ferretdb.New, which writes a package-level variable of
// FerretDB's and is a data race when called concurrently.
var newMu sync.Mutex

// Server is a running embedded FerretDB. Its methods are safe for concurrent use.
type Server struct {
	uri     string
	cancel  context.CancelFunc
	done    chan error
	tempDir string // data directory to remove at Stop
	sockDir string // private socket directory to remove at Stop
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

// WithDir keeps the SQLite files in dir, creating it with mode 0700 if
// needed, so data survives restarts. The socket goes there too when dir is
// private (see the package documentation). The default is a new temporary
// directory that [Server.Stop] removes.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithAddr makes the server listen on the TCP address addr instead of a Unix
// domain socket; "127.0.0.1:0" lets the system choose a free loopback port,
// read back from [Server.URI].
//
// FerretDB has no authentication: every local user can then connect and
// read or rewrite the data, and so can every host that reaches addr if it is
// not a loopback address. Use it only where that is acceptable, such as a
// test that needs a port. The default is no TCP listener at all.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithLogger sends FerretDB's own log lines to logger. The default discards
// them (FerretDB logs a multi-line dump of every error reply at WARN level).
func WithLogger(logger *slog.Logger) Option { return func(c *config) { c.logger = logger } }

// Start starts FerretDB with the SQLite backend and returns once it listens:
// on a private Unix domain socket unless [WithAddr] is given. ctx bounds only
// the start; the server runs until [Server.Stop]. It returns an error if the
// socket path is taken by a file that is not a socket or by a server that
// still answers on it.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	var cfg config
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
	} else {
		var err error
		if dir, err = privateDataDir(dir); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	listener := ferretdb.ListenerConfig{TCP: cfg.addr}
	if cfg.addr == "" {
		if listener.Unix, err = s.socketPath(abs); err != nil {
			s.cleanup()
			return nil, err
		}
	}
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
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
	if listener.Unix != "" {
		// The directory already keeps others out; this also covers a
		// umask that left the socket group-writable.
		if err := os.Chmod(listener.Unix, 0o600); err != nil {
			_ = s.Stop()
			return nil, fmt.Errorf("embedded: %w", err)
		}
	}
	return s, nil
}

// PrivateSubdir is the directory that [Start] creates, with mode 0700,
// inside a data directory that other users can enter, and keeps the
// database files in.
const PrivateSubdir = "ferretdb"

// privateDataDir returns the directory to keep the database files in: dir,
// created with mode 0700 if it does not exist, when only its owner can
// enter it; otherwise a private subdirectory of it, PrivateSubdir. The
// SQLite files are created readable by every user who can enter their
// directory, and they hold password hashes. A shared dir that already
// holds database files (from an earlier version) is an error rather than
// data left behind: make it private.
func privateDataDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return dir, nil
	}
	if found, _ := filepath.Glob(filepath.Join(dir, "*.sqlite")); len(found) > 0 {
		return "", fmt.Errorf("embedded: data directory %s holds database files and other users can enter it (mode %#o): make it private (chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	sub := filepath.Join(dir, PrivateSubdir)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	if err := os.Chmod(sub, 0o700); err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	return sub, nil
}

// socketPath returns the path of the socket to listen on: in dataDir if it
// is private and the path is short enough, else in a new private directory
// under os.TempDir. A stale socket at that path is removed.
func (s *Server) socketPath(dataDir string) (string, error) {
	path := filepath.Join(dataDir, SocketName)
	fi, err := os.Stat(dataDir)
	if err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 && len(path) <= maxSocketPath {
		if err := removeStaleSocket(path); err != nil {
			return "", err
		}
		return path, nil
	}
	tmp, err := os.MkdirTemp("", "ginusers-fdb-") // mode 0700
	if err != nil {
		return "", fmt.Errorf("embedded: socket directory: %w", err)
	}
	s.sockDir = tmp
	path = filepath.Join(tmp, SocketName)
	if len(path) > maxSocketPath {
		return "", fmt.Errorf("embedded: socket path %s is longer than %d bytes: set TMPDIR to a shorter directory", path, maxSocketPath)
	}
	return path, nil
}

// removeStaleSocket removes the socket at path if no server answers on it.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("embedded: %s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		_ = conn.Close()
		return fmt.Errorf("embedded: a server is already listening on %s (is another process using this directory?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("embedded: check socket: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("embedded: remove stale socket: %w", err)
	}
	return nil
}

// URI returns the MongoDB connection string of the server: by default the
// socket's path, URL-escaped, as in "mongodb://%2Fsrv%2Fdata%2Fferretdb.sock/";
// with [WithAddr], a TCP address such as "mongodb://127.0.0.1:41193/".
func (s *Server) URI() string { return s.uri }

// Stop stops the server and waits for it, then removes the temporary
// directories it created: the data directory if [WithDir] was not given,
// and the socket's directory if it is not the data directory. Calling it
// again returns the first result.
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
	if s.sockDir != "" {
		_ = os.RemoveAll(s.sockDir)
	}
}
