package ginusers

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// cheapArgon2id are parameters far too weak for use, to make fuzzing fast.
var cheapArgon2id = Argon2idParams{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// tooSlowToFuzz reports whether verifying hash would run the real key
// derivation with costs that make fuzzing crawl: argon2id above 1 MiB or
// 4 passes or lanes, bcrypt above the minimum cost. Hashes that the parsers
// refuse are fuzzed, since refusing them is cheap.
func tooSlowToFuzz(hash string) bool {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		p, _, _, err := parseArgon2id(hash)
		return err == nil && (p.Memory > 1024 || p.Time > 4 || p.Threads > 4)
	case isBcrypt(hash):
		cost, err := bcrypt.Cost([]byte(hash))
		return err == nil && cost > bcrypt.MinCost && cost <= maxBcryptCost
	}
	return false
}

// FuzzVerifyHash checks that Verify never panics on any hash string, that
// an error or a mismatch never asks for a rehash, and that what Hash makes
// verifies.
func FuzzVerifyHash(f *testing.F) {
	h := &Argon2idHasher{params: cheapArgon2id}
	cheap, err := h.Hash("password")
	if err != nil {
		f.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("password", cheap)
	f.Add("password", string(bc))
	f.Add("password", "$2y$"+string(bc[4:]))
	f.Add("password", "$2b$31$"+string(bc[7:]))
	f.Add("wrong", cheap)
	f.Add("password", "$argon2id$v=19$m=4294967295,t=2,p=1$MzXr0bA+ohrtskCh1SJpfA$VVMJkQO1MOf7Gmwv5o+I86CMjuXN5hkU4EP656B3x0c")
	f.Add("password", "$argon2id$v=19$m=8,t=1,p=1$MzXr0bA+ohrtskCh1SJpfA$VVMJkQO1MOf7Gmwv5o+I86CMjuXN5hkU4EP656B3x0c")
	f.Add("password", "$argon2id$v=16$m=8,t=1,p=1$$")
	f.Add("", "")
	f.Add("password", "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
	f.Fuzz(func(t *testing.T, password, hash string) {
		if tooSlowToFuzz(hash) {
			return // legitimate but costly parameters: too slow to fuzz
		}
		ok, rehash, err := h.Verify(password, hash)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify(%q, %q) = %v, %v, %v, want false, false with an error", password, hash, ok, rehash, err)
		}
		if !ok && rehash {
			t.Fatalf("Verify(%q, %q) = false, true, %v, want no rehash for a mismatch", password, hash, err)
		}
		if ok && hash != cheap && !strings.HasPrefix(hash, "$argon2id$") && !isBcrypt(hash) {
			t.Fatalf("Verify(%q, %q) = true for a hash of no known scheme", password, hash)
		}
		if hash == cheap && ok != (password == "password") {
			t.Fatalf("Verify(%q, hash of \"password\") = %v, want %v", password, ok, !ok)
		}
	})
}

func TestArgon2idHasherRoundTripCheap(t *testing.T) {
	// Hash then Verify with parameters below NewArgon2idHasher's floor,
	// which a zero-cost test hasher may use: the PHC string carries them.
	h := &Argon2idHasher{params: cheapArgon2id}
	hash, err := h.Hash("pässword")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Fatalf("Hash() = %q, want the m=8,t=1,p=1 PHC prefix", hash)
	}
	if ok, rehash, err := h.Verify("pässword", hash); !ok || rehash || err != nil {
		t.Fatalf("Verify() = %v, %v, %v, want true, false, nil", ok, rehash, err)
	}
	def := &Argon2idHasher{params: defaultArgon2idParams}
	if ok, rehash, err := def.Verify("pässword", hash); !ok || !rehash || err != nil {
		t.Fatalf("default hasher Verify(cheap hash) = %v, %v, %v, want true, true, nil", ok, rehash, err)
	}
}
