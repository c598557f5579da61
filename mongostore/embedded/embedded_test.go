package embedded_test

import (
	"context"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginusers/kit/mongostore/embedded"
)

// start starts a server and stops it when t ends.
func start(t *testing.T, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, opts...)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop() = %v", err)
		}
	})
	return srv
}

// connect connects to uri and disconnects when t ends (before the server
// stops, since cleanups run last-in first-out).
func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		t.Fatalf("mongo.Connect(%q) error = %v", uri, err)
	}
	t.Cleanup(func() { disconnect(t, c) })
	return c
}

func disconnect(t *testing.T, c *mongo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Disconnect(ctx)
}

// roundTrip inserts a document under name, or finds it when insert is
// false, within a deadline.
func roundTrip(t *testing.T, c *mongo.Client, name string, insert bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	coll := c.Database("embedded_test").Collection("docs")
	if insert {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "v", Value: 42}}); err != nil {
			t.Fatalf("InsertOne() error = %v", err)
		}
	}
	var got struct {
		V int `bson:"v"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&got); err != nil || got.V != 42 {
		t.Fatalf("FindOne(%q) = %+v, %v, want v 42", name, got, err)
	}
}

// socketOf returns the socket path in a socket URI, and fails t for any
// other URI.
func socketOf(t *testing.T, uri string) string {
	t.Helper()
	host, ok := strings.CutPrefix(uri, "mongodb://%2F")
	host, ok2 := strings.CutSuffix(host, "/")
	if !ok || !ok2 {
		t.Fatalf("URI() = %q, want mongodb://%%2F.../", uri)
	}
	path, err := url.PathUnescape("%2F" + host)
	if err != nil || !strings.HasSuffix(path, "/"+embedded.SocketName) {
		t.Fatalf("URI() = %q: host %q is not a path to %s", uri, path, embedded.SocketName)
	}
	return path
}

// privateDir returns a new directory with mode 0700. (t.TempDir's own
// directory has the umask's mode, usually 0755.)
func privateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// checkPrivate fails t unless path is a socket with mode 0600 in a
// directory with mode 0700.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %s has mode %v, want a socket with 0600", path, fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("socket directory %s has mode %v, want 0700", filepath.Dir(path), di.Mode().Perm())
	}
}

// listeningTCP returns the local addresses of the listening TCP sockets
// that this process holds, read from /proc.
func listeningTCP(t *testing.T) map[string]bool {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads the process's sockets from /proc")
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	listening := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && mine[f[9]] { // 0A: TCP_LISTEN
				listening[f[1]] = true
			}
		}
	}
	return listening
}

func newListeners(before, after map[string]bool) []string {
	var added []string
	for a := range after {
		if !before[a] {
			added = append(added, a)
		}
	}
	return added
}

func TestStartListensOnPrivateSocketOnly(t *testing.T) {
	for _, tt := range []struct {
		name string
		dir  func(t *testing.T) string // "" for the default temporary directory
	}{
		{"a temporary data directory", func(*testing.T) string { return "" }},
		{"a data directory that Start creates", func(t *testing.T) string { return filepath.Join(t.TempDir(), "data") }},
		{"an existing private data directory", privateDir},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			var opts []embedded.Option
			if dir != "" {
				opts = append(opts, embedded.WithDir(dir))
			}
			before := listeningTCP(t)
			srv := start(t, opts...)
			if added := newListeners(before, listeningTCP(t)); len(added) != 0 {
				t.Errorf("Start() opened TCP listeners %v, want none", added)
			}
			sock := socketOf(t, srv.URI())
			if dir != "" {
				abs, _ := filepath.Abs(dir)
				if want := filepath.Join(abs, embedded.SocketName); sock != want {
					t.Errorf("socket = %s, want %s", sock, want)
				}
			}
			checkPrivate(t, sock)
			c := connect(t, srv.URI())
			roundTrip(t, c, "doc", true)
			disconnect(t, c)
			if err := srv.Stop(); err != nil {
				t.Fatalf("Stop() = %v", err)
			}
			if _, err := os.Lstat(sock); !os.IsNotExist(err) {
				t.Errorf("after Stop, Lstat(%s) = %v, want not exist", sock, err)
			}
		})
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := privateDir(t)
	srv, err := embedded.Start(t.Context(), embedded.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, srv.URI())
	roundTrip(t, c, "kept", true)
	disconnect(t, c)
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	srv = start(t, embedded.WithDir(dir))
	roundTrip(t, connect(t, srv.URI()), "kept", false)
}

func TestStartRemovesStaleSocket(t *testing.T) {
	dir := privateDir(t)
	// What a crashed run leaves: a socket file nobody listens on.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, embedded.SocketName), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	srv := start(t, embedded.WithDir(dir))
	checkPrivate(t, socketOf(t, srv.URI()))
	roundTrip(t, connect(t, srv.URI()), "doc", true)
}

func TestStartRefusesTakenSocketPath(t *testing.T) {
	t.Run("a running server", func(t *testing.T) {
		dir := privateDir(t)
		srv := start(t, embedded.WithDir(dir))
		c := connect(t, srv.URI())
		roundTrip(t, c, "doc", true)
		second, err := embedded.Start(t.Context(), embedded.WithDir(dir))
		if err == nil {
			second.Stop()
			t.Fatal("a second Start() on the same directory succeeded, want an error")
		}
		if !strings.Contains(err.Error(), "already listening") {
			t.Errorf("second Start() error = %v, want one that says a server is listening", err)
		}
		roundTrip(t, c, "doc", false) // the first server still answers
	})
	t.Run("a file that is not a socket", func(t *testing.T) {
		dir := privateDir(t)
		path := filepath.Join(dir, embedded.SocketName)
		if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		if srv, err := embedded.Start(t.Context(), embedded.WithDir(dir)); err == nil {
			srv.Stop()
			t.Fatal("Start() over a regular file succeeded, want an error")
		} else if !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("Start() error = %v, want one that says it is not a socket", err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
			t.Errorf("the file was changed: %q, %v", b, err)
		}
	})
}

func TestStartFallsBackToPrivateTempSocket(t *testing.T) {
	for _, tt := range []struct {
		name string
		dir  func(t *testing.T) string
		mode fs.FileMode
	}{
		{"a data directory path too long for a socket", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
		}, 0o700},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			before := listeningTCP(t)
			srv := start(t, embedded.WithDir(dir))
			if added := newListeners(before, listeningTCP(t)); len(added) != 0 {
				t.Errorf("Start() opened TCP listeners %v, want none", added)
			}
			sock := socketOf(t, srv.URI())
			if tmp := filepath.Clean(os.TempDir()); filepath.Dir(filepath.Dir(sock)) != tmp {
				t.Errorf("socket = %s, want one in a directory of its own under %s", sock, tmp)
			}
			checkPrivate(t, sock)
			c := connect(t, srv.URI())
			roundTrip(t, c, "doc", true)
			if m, _ := filepath.Glob(filepath.Join(dir, "*.sqlite")); len(m) == 0 {
				t.Errorf("no SQLite file in %s: the data went elsewhere", dir)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != tt.mode {
				t.Errorf("data directory mode = %v, %v, want %v (unchanged)", fi.Mode().Perm(), err, tt.mode)
			}
			disconnect(t, c)
			if err := srv.Stop(); err != nil {
				t.Fatalf("Stop() = %v", err)
			}
			if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
				t.Errorf("after Stop, the socket directory remains: %v", err)
			}
		})
	}
}

func TestWithAddrListensOnTCP(t *testing.T) {
	dir := privateDir(t)
	before := listeningTCP(t)
	srv := start(t, embedded.WithDir(dir), embedded.WithAddr("127.0.0.1:0"))
	if added := newListeners(before, listeningTCP(t)); len(added) != 1 {
		t.Errorf("Start(WithAddr) opened TCP listeners %v, want one", added)
	}
	if !strings.HasPrefix(srv.URI(), "mongodb://127.0.0.1:") {
		t.Errorf("URI() = %q, want mongodb://127.0.0.1:port/", srv.URI())
	}
	if _, err := os.Lstat(filepath.Join(dir, embedded.SocketName)); !os.IsNotExist(err) {
		t.Errorf("Start(WithAddr) made a socket too: %v", err)
	}
	roundTrip(t, connect(t, srv.URI()), "doc", true)
}

// sharedDir returns a new directory that every user can enter.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return d
}

// TestSharedDataDirectoryKeepsFilesPrivate: the SQLite files hold password
// hashes and are created readable by whoever can enter their directory, so
// in a data directory that others can enter they go to a private
// subdirectory, with the socket; the data directory itself is left as it
// is. A shared directory that already holds database files is refused.
func TestSharedDataDirectoryKeepsFilesPrivate(t *testing.T) {
	dir := sharedDir(t)
	srv := start(t, embedded.WithDir(dir))
	c := connect(t, srv.URI())
	roundTrip(t, c, "doc", true)
	sub := filepath.Join(dir, embedded.PrivateSubdir)
	if m, _ := filepath.Glob(filepath.Join(sub, "*.sqlite")); len(m) == 0 {
		t.Errorf("no SQLite file in %s", sub)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.sqlite")); len(m) != 0 {
		t.Errorf("SQLite files %v in the shared directory", m)
	}
	if fi, err := os.Stat(sub); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("private subdirectory mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("data directory mode = %v, %v; want 0755 (unchanged)", fi.Mode().Perm(), err)
	}
	sock := socketOf(t, srv.URI())
	if filepath.Dir(sock) != sub {
		t.Errorf("socket = %s, want it in %s", sock, sub)
	}
	checkPrivate(t, sock)
	disconnect(t, c)
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}

	old := sharedDir(t)
	if err := os.WriteFile(filepath.Join(old, "users.sqlite"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := embedded.Start(t.Context(), embedded.WithDir(old)); err == nil {
		_ = s.Stop()
		t.Fatal("Start() on a shared directory holding database files = nil error, want one asking to make it private")
	}
}
