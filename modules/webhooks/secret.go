package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret, as the Standard Webhooks specification has it.
const SecretPrefix = "whsec_"

// secretBytes is how many random bytes a secret carries.
const secretBytes = 24

// newSecret returns a fresh signing secret: "whsec_" and the standard base64 of 24 random bytes.
func newSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a secret: the decoded bytes after the prefix.
func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("webhooks: secret without the whsec_ prefix")
	}
	return base64.StdEncoding.DecodeString(raw)
}

// signature is one Standard Webhooks signature: "v1," and the base64 HMAC-SHA256 of
// "{id}.{timestamp}.{body}".
func signature(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatures is the webhook-signature header: one signature per secret, space separated.
func signatures(secrets []string, id string, timestamp int64, body []byte) (string, error) {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		out = append(out, signature(key, id, timestamp, body))
	}
	return strings.Join(out, " "), nil
}

// sealer encrypts secrets at rest with AES-256-GCM under a key derived from the service's
// secret (as platform/idempotency does for recorded bodies): a copy of the table alone does
// not let anyone sign deliveries.
type sealer struct{ aead cipher.AEAD }

func newSealer(appSecret []byte) sealer {
	m := hmac.New(sha256.New, appSecret)
	m.Write([]byte("webhook-secret-v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return sealer{aead: aead}
}

// seal encrypts plain; the nonce leads the result.
func (s sealer) seal(plain string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// open decrypts what seal made.
func (s sealer) open(sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("webhooks: sealed secret too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("webhooks: open secret (was JWT_SECRET changed?): %w", err)
	}
	return string(plain), nil
}
