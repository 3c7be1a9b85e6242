package provider

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
)

// Sealer encrypts secrets that must be recovered later (OAuth 1 client and
// token secrets are HMAC keys) with AES-256-GCM. The key is derived from a
// server key kept in the store directory or given in config; the purpose
// string binds each ciphertext to its use (a sealed token secret cannot be
// passed off as a client secret).
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the AES key from serverKey (at least 32 bytes).
func NewSealer(serverKey []byte) (*Sealer, error) {
	if len(serverKey) < 32 {
		return nil, errors.New("provider: server key must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, serverKey, nil, "caddy-oauth seal v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext for purpose; the result is nonce || ciphertext.
func (s *Sealer) Seal(purpose string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, []byte(purpose)), nil
}

// Open decrypts what Seal returned for the same purpose.
func (s *Sealer) Open(purpose string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("provider: sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte(purpose))
}
