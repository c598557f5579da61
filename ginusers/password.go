package ginusers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// PasswordHasher hashes and verifies passwords. Implementations must be safe
// for concurrent use. The [Manager] bounds how many calls run at once (see
// [WithMaxConcurrentHashes]), so implementations need not.
type PasswordHasher interface {
	// Hash returns an encoded hash of password, with a fresh salt.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash and, when it does,
	// whether hash should be replaced by a new Hash of password because it
	// uses another scheme or weaker parameters. A hash the hasher does not
	// recognise is an error; a wrong password is (false, false, nil).
	Verify(password, hash string) (ok, rehash bool, err error)
}

// Argon2idParams are the parameters of argon2id hashing.
type Argon2idParams struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are lengths in bytes of the salt and the hash.
	SaltLen, KeyLen uint32
}

// defaultArgon2idParams are OWASP's recommended argon2id parameters.
var defaultArgon2idParams = Argon2idParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// DefaultArgon2idParams returns OWASP's recommended argon2id parameters,
// the default of [New]: m=19 MiB, t=2, p=1, a 16-byte salt and a 32-byte
// hash.
func DefaultArgon2idParams() Argon2idParams { return defaultArgon2idParams }

// Argon2idHasher is the default [PasswordHasher]. It makes argon2id hashes in
// the PHC string format ($argon2id$v=19$m=19456,t=2,p=1$salt$hash, unpadded
// base64), as argon2-cffi and pwdlib do, and verifies argon2id hashes with
// any parameters as well as bcrypt hashes ($2a$, $2b$, $2y$, cost at most
// 16) made by passlib, pwdlib or elsewhere; a password longer than 72 bytes
// never matches a bcrypt hash. Hashes with other parameters or made by
// bcrypt verify with rehash set, so they are upgraded at the next login.
//
// Make one with [NewArgon2idHasher], which validates the parameters; the
// zero value is not usable.
type Argon2idHasher struct {
	params Argon2idParams
}

// NewArgon2idHasher returns an [Argon2idHasher] with the given parameters.
// It returns an error for parameters too weak to be safe or too large to run:
// memory below 8 MiB or above 1 GiB, no pass, no thread, a salt shorter than
// 16 bytes or a hash shorter than 16 bytes.
func NewArgon2idHasher(p Argon2idParams) (*Argon2idHasher, error) {
	switch {
	case p.Memory < 8*1024 || p.Memory > 1024*1024:
		return nil, configErrorf("argon2id memory must be between 8 MiB and 1 GiB, got %d KiB", p.Memory)
	case p.Time < 1 || p.Time > 64:
		return nil, configErrorf("argon2id time must be between 1 and 64, got %d", p.Time)
	case p.Threads < 1:
		return nil, configErrorf("argon2id threads must be at least 1")
	case p.SaltLen < 16 || p.SaltLen > 64 || p.KeyLen < 16 || p.KeyLen > 128:
		return nil, configErrorf("argon2id salt and key must be 16 to 64 and 16 to 128 bytes")
	}
	return &Argon2idHasher{params: p}, nil
}

// NewInsecureArgon2idHasher returns an [Argon2idHasher] with the given
// parameters, unchecked: for tests only, where a hash of a few KiB and one
// pass keeps a suite fast. Never use it to store real passwords; use
// [NewArgon2idHasher].
func NewInsecureArgon2idHasher(p Argon2idParams) *Argon2idHasher {
	return &Argon2idHasher{params: p}
}

// Params returns the hasher's parameters.
func (h *Argon2idHasher) Params() Argon2idParams { return h.params }

var b64 = base64.RawStdEncoding

// Hash implements [PasswordHasher].
func (h *Argon2idHasher) Hash(password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errUnknownHash is returned for a hash no scheme recognises.
var errUnknownHash = errors.New("ginusers: unrecognised password hash")

// Verify implements [PasswordHasher].
func (h *Argon2idHasher) Verify(password, hash string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon2id(hash)
		if err != nil {
			return false, false, err
		}
		got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		if subtle.ConstantTimeCompare(got, key) != 1 {
			return false, false, nil
		}
		cur := h.params
		return true, p.Memory != cur.Memory || p.Time != cur.Time || p.Threads != cur.Threads || uint32(len(salt)) != cur.SaltLen || uint32(len(key)) != cur.KeyLen, nil
	case isBcrypt(hash):
		b := []byte(hash)
		if hash[2] == 'y' {
			// $2y$ is PHP's name for the same algorithm as $2b$.
			b[2] = 'b'
		}
		cost, err := bcrypt.Cost(b)
		if err != nil {
			return false, false, fmt.Errorf("ginusers: bcrypt hash: %w", err)
		}
		if cost > maxBcryptCost {
			// 2^31 rounds would run for days: a denial of service.
			return false, false, fmt.Errorf("ginusers: bcrypt hash: cost %d above %d", cost, maxBcryptCost)
		}
		// bcrypt ignores the bytes after the 72nd, and CompareHashAndPassword
		// does not refuse them: a password sharing only the first 72 bytes
		// would be accepted. Such a password never matches, but the work is
		// still done so that timing does not tell bcrypt hashes apart.
		pw := []byte(password)
		tooLong := len(pw) > maxBcryptPassword
		if tooLong {
			pw = pw[:maxBcryptPassword]
		}
		err = bcrypt.CompareHashAndPassword(b, pw)
		switch {
		case err == nil && tooLong:
			return false, false, nil
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("ginusers: bcrypt hash: %w", err)
		}
	}
	return false, false, errUnknownHash
}

const (
	// maxBcryptCost is the highest bcrypt cost verified (2^16 rounds, some
	// seconds); passlib and pwdlib use 12. Higher costs, which only a
	// corrupt or hostile imported hash would have, are an error.
	maxBcryptCost = 16
	// maxBcryptPassword is the longest password bcrypt reads, in bytes.
	maxBcryptPassword = 72
)

func isBcrypt(hash string) bool {
	return len(hash) == 60 && hash[0] == '$' && hash[1] == '2' && strings.IndexByte("abxy", hash[2]) >= 0 && hash[3] == '$'
}

// parseArgon2id decodes a PHC argon2id string. It refuses parameters that
// would make verification a denial of service (memory above 1 GiB, more than
// 64 passes or 255 lanes), since hashes may come from imported data.
func parseArgon2id(hash string) (p Argon2idParams, salt, key []byte, err error) {
	bad := func(why string) (Argon2idParams, []byte, []byte, error) {
		return Argon2idParams{}, nil, nil, fmt.Errorf("ginusers: malformed argon2id hash: %s", why)
	}
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("wrong number of fields")
	}
	if parts[2] != "v=19" {
		return bad("unsupported version")
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found {
			return bad("bad parameter")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("bad parameter value")
		}
		switch k {
		case "m":
			p.Memory, seen[0] = uint32(n), true
		case "t":
			p.Time, seen[1] = uint32(n), true
		case "p":
			if n > 255 {
				return bad("too many lanes")
			}
			p.Threads, seen[2] = uint8(n), true
		default:
			return bad("unknown parameter")
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return bad("missing parameter")
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > 1024*1024 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return bad("parameters out of range")
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return bad("bad salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 4 || len(key) > 1024 {
		return bad("bad hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
