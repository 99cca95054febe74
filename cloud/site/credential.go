package site

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// An edge credential is "cpe1.<edge id>.<secret>", both parts base64url
// without padding, the secret 32 random bytes. Carrying the edge id lets the
// cloud find the one row to compare against (in constant time) and tell a
// wrong secret from a credential of another edge. Only its sha256 is stored.
const (
	credentialPrefix = "cpe1."
	secretBytes      = 32
)

// newCredential returns a fresh credential for edgeID and its hash.
func newCredential(edgeID string) (string, []byte) {
	secret := make([]byte, secretBytes)
	_, _ = rand.Read(secret) // never fails (Go 1.24+)
	cred := credentialPrefix + base64.RawURLEncoding.EncodeToString([]byte(edgeID)) + "." +
		base64.RawURLEncoding.EncodeToString(secret)
	return cred, hashCredential(cred)
}

func hashCredential(cred string) []byte {
	sum := sha256.Sum256([]byte(cred))
	return sum[:]
}

// CredentialEdge returns the edge id a well-formed credential names, or
// ErrInvalidCredential. It proves nothing: Store.Authenticate does.
func CredentialEdge(cred string) (string, error) {
	rest, ok := strings.CutPrefix(cred, credentialPrefix)
	if !ok {
		return "", ErrInvalidCredential
	}
	rawID, rawSecret, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrInvalidCredential
	}
	id, err := base64.RawURLEncoding.DecodeString(rawID)
	if err != nil || len(id) == 0 || len(id) > MaxIDLen {
		return "", ErrInvalidCredential
	}
	secret, err := base64.RawURLEncoding.DecodeString(rawSecret)
	if err != nil || len(secret) != secretBytes {
		return "", ErrInvalidCredential
	}
	return string(id), nil
}
