package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password rules: long enough to resist guessing, short enough that hashing
// a hostile input stays cheap.
const (
	MinPasswordLen      = 10
	MaxPasswordBytes    = 256
	argon2SaltBytes     = 16
	argon2KeyBytes      = 32
	maxArgon2MemoryKiB  = 4 << 20 // 4 GiB: refuse absurd stored parameters
	maxArgon2Iterations = 100
)

// Argon2Params are argon2id's cost parameters (RFC 9106 section 3.1).
type Argon2Params struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory per hash, in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultArgon2 returns the OWASP Password Storage Cheat Sheet's first
// argon2id configuration: 19 MiB, 2 passes, 1 thread (about 20–40 ms on a
// server core, and little memory per concurrent login).
func DefaultArgon2() Argon2Params {
	return Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}
}

// Validate reports parameters argon2 cannot use or that are too weak to
// mean anything.
func (p Argon2Params) Validate() error {
	var errs []error
	if p.Time < 1 || p.Time > maxArgon2Iterations {
		errs = append(errs, fmt.Errorf("time: must be 1..%d, got %d", maxArgon2Iterations, p.Time))
	}
	if p.Threads < 1 {
		errs = append(errs, errors.New("threads: must be at least 1"))
	}
	// argon2 needs at least 8 KiB per thread.
	if p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > maxArgon2MemoryKiB {
		errs = append(errs, fmt.Errorf("memory_kib: must be between 8×threads and %d, got %d", maxArgon2MemoryKiB, p.MemoryKiB))
	}
	return errors.Join(errs...)
}

// CheckPassword enforces the password rules; the error names the field.
func CheckPassword(field, pw string) error {
	switch {
	case len(pw) > MaxPasswordBytes:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", MaxPasswordBytes, len(pw))}
	case len([]rune(pw)) < MinPasswordLen:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at least %d characters", MinPasswordLen)}
	}
	return nil
}

// HashPassword returns the argon2id PHC string of pw:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash> (unpadded
// standard base64), the format of the reference implementation, so the
// parameters travel with each hash and can be raised later.
func HashPassword(pw string, p Argon2Params) string {
	salt := make([]byte, argon2SaltBytes)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, argon2KeyBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether pw matches the PHC string encoded. An empty
// or malformed encoding matches nothing.
func VerifyPassword(pw, encoded string) bool {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want))) //nolint:gosec // len bounded by parsePHC.
	return subtle.ConstantTimeCompare(got, want) == 1
}

func parsePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 parameters: %w", err)
	}
	if err := p.Validate(); err != nil {
		return p, nil, nil, err
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2 salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("argon2 hash: bad length")
	}
	return p, salt, key, nil
}
