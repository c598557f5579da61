// Package redistest gives tests a real Redis: the server at REDIS_URL when
// that variable is set, and otherwise a redis-server that the test binary
// starts on a free loopback port on first use and stops when the tests
// end. Tests never skip: without REDIS_URL and without the redis-server
// program (the Debian package redis-server), [Client] fails the test and
// says what to install.
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		client := redistest.Client(t) // an empty database of its own
//		store := redisstore.New(client)
//		...
//	}
//
// A TestMain that needs other helpers too calls [Shutdown] itself:
//
//	func TestMain(m *testing.M) {
//		code := mongotest.Run(m)
//		redistest.Shutdown()
//		os.Exit(code)
//	}
//
// Every [Client] gets a logical database of its own, empty when Client
// returns and flushed when the test ends, so tests may use fixed keys and
// the default key prefixes. The started server has 1024 databases and
// keeps nothing on disk (no RDB snapshots, no AOF); it binds only
// 127.0.0.1, and on Linux it is killed if the test binary dies without
// stopping it.
//
// REDIS_URL must name a standalone Redis used only for tests: redistest
// flushes its databases. The URL's database holds the locks through which
// concurrent test binaries (go test ./... runs packages in parallel) take
// turns with the other databases (16 unless the server is configured with
// more); a test that finds them all taken waits for one.
package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startedDatabases is how many logical databases the started server has,
// and so how many tests can hold a [Client] at once.
const startedDatabases = 1024

// Locks on the databases of the Redis at REDIS_URL.
const (
	lockPrefix = "redistest:lock:db:"
	lockTTL    = 15 * time.Minute // frees the databases of a test binary that died
	lockWait   = 2 * time.Minute  // how long Client waits for a free database
)

var (
	mu      sync.Mutex
	started *server       // the redis-server this binary started, or nil
	url     string        // REDIS_URL, or the URL of started
	lockDB  int           // the database of url, which holds no test data
	numDBs  int           // how many databases the server has
	inUse   map[int]bool  // databases held by this binary's clients
	admin   *redis.Client // on lockDB of REDIS_URL, for the locks; nil on started
)

// Run runs the tests of m and then stops the redis-server if one was
// started. Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	Shutdown()
	return code
}

// Shutdown stops the redis-server if one was started and closes the
// connections of this package; [Run] calls it. A later [Client] starts
// over.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	if admin != nil {
		_ = admin.Close()
		admin = nil
	}
	if started != nil {
		started.stop()
		started = nil
	}
	url = ""
}

// URL returns the URL of a logical database of its own, for code under
// test that connects by itself (an app given REDIS_URL, say), such as
// "redis://127.0.0.1:41193/3". Like [Client]'s, the database is empty when
// URL returns and is flushed and released when t ends.
func URL(t testing.TB) string {
	t.Helper()
	c := Client(t) // takes, empties and (at the end of t) frees the database
	opts := c.Options()
	u, err := neturl.Parse(baseURL())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	if u.Scheme == "unix" {
		q := u.Query()
		q.Set("db", strconv.Itoa(opts.DB))
		u.RawQuery = q.Encode()
	} else {
		u.Path = "/" + strconv.Itoa(opts.DB)
	}
	return u.String()
}

func baseURL() string {
	mu.Lock()
	defer mu.Unlock()
	return url
}

// ensure connects to REDIS_URL, or starts a server; mu must be held.
func ensure(t testing.TB) {
	t.Helper()
	if url != "" {
		return
	}
	inUse = map[int]bool{}
	env := os.Getenv("REDIS_URL")
	if env == "" {
		s, err := start()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		started, url, lockDB, numDBs = s, fmt.Sprintf("redis://%s/0", s.addr), -1, startedDatabases
		return
	}
	opts, err := redis.ParseURL(env)
	if err != nil {
		t.Fatalf("redistest: REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		t.Fatalf("redistest: ping REDIS_URL %s: %v", opts.Addr, err)
	}
	n := 16 // Redis's default; CONFIG may be disabled
	if cfg, err := c.ConfigGet(ctx, "databases").Result(); err == nil {
		if v, err := strconv.Atoi(cfg["databases"]); err == nil && v > 0 {
			n = v
		}
	}
	if n < 2 {
		_ = c.Close()
		t.Fatalf("redistest: the Redis at REDIS_URL has %d database; redistest needs at least 2", n)
	}
	admin, url, lockDB, numDBs = c, env, opts.DB, n
}

// Client returns a new client on a logical database of its own, empty when
// Client returns and flushed and released when t ends. It fails t if Redis
// cannot be reached or started, and if no database frees up in time.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, release := acquire(t)
	c := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.FlushDB(ctx).Err()
		_ = c.Close()
		release()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: ping %s database %d: %v", opts.Addr, opts.DB, err)
	}
	if err := c.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redistest: flush database %d: %v", opts.DB, err)
	}
	return c
}

// acquire takes a free database and returns the options of a client on
// it, and the function that frees it.
func acquire(t testing.TB) (*redis.Options, func()) {
	t.Helper()
	deadline := time.Now().Add(lockWait)
	for {
		opts, release, busy := tryAcquire(t)
		if opts != nil {
			return opts, release
		}
		if !busy || time.Now().After(deadline) {
			t.Fatalf("redistest: all %d databases are in use by running tests", numDBsNow())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func numDBsNow() int {
	mu.Lock()
	defer mu.Unlock()
	return numDBs
}

// releaseScript deletes a lock if it still holds the given value.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// tryAcquire takes a free database if there is one. When there is none, it
// returns nil options, and busy reports whether waiting may help (another
// test binary holds some).
func tryAcquire(t testing.TB) (opts *redis.Options, release func(), busy bool) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock() // also when t.Fatalf exits the goroutine
	ensure(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for db := range numDBs {
		if db == lockDB || inUse[db] {
			continue
		}
		var lockKey, lockVal string
		if admin != nil {
			var b [16]byte
			_, _ = rand.Read(b[:])
			lockKey, lockVal = lockPrefix+strconv.Itoa(db), hex.EncodeToString(b[:])
			ok, err := admin.SetNX(ctx, lockKey, lockVal, lockTTL).Result()
			if err != nil {
				t.Fatalf("redistest: lock database %d: %v", db, err)
			}
			if !ok {
				busy = true
				continue
			}
		}
		inUse[db] = true
		opts.DB = db
		lockClient := admin
		return opts, func() {
			if lockClient != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = releaseScript.Run(ctx, lockClient, []string{lockKey}, lockVal).Err()
			}
			mu.Lock()
			delete(inUse, db)
			mu.Unlock()
		}, false
	}
	return nil, nil, busy
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Prefix returns a key prefix unique to this call, named after t, such as
// "test:TestStore_round_trip:1f2e3d4c:", for tests that need several
// disjoint key spaces in one database.
func Prefix(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Trim(unsafeChars.ReplaceAllString(t.Name(), "_"), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return "test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// server is a running redis-server.
type server struct {
	addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// errNoRedis explains what to do when there is no Redis to test with.
var errNoRedis = errors.New("redis-server not found in PATH and REDIS_URL is not set: " +
	"install the redis-server package (Debian/Ubuntu: apt-get install redis-server) " +
	"or point REDIS_URL at a Redis used only for tests")

// start starts a redis-server on a free loopback port and waits until it
// answers PING. It retries with another port if the one it picked was taken
// in the meantime.
func start() (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	var errs []error
	for range 5 {
		s, err := startOnce(bin)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("start redis-server: %w", errors.Join(errs...))
}

func startOnce(bin string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ginusers-redis-")
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile,
		"--databases", strconv.Itoa(startedDatabases),
	)
	cmd.Dir = dir
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()

	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logFile)
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("redis-server on port %d exited: %s", port, bytes.TrimSpace(lastLines(log, 5)))
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer PING: %w", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

func lastLines(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// stop terminates the server, killing it if it has not exited within five
// seconds, and removes its directory.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(termSignal)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.dir)
}
