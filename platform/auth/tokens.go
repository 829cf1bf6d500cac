package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types carried in the "typ" claim of a JWT.
const TokenTypeAccess = "access"

// Claims are the claims of an access token.
type Claims struct {
	Type string `json:"typ"`
	jwt.RegisteredClaims
}

// Tokens issues access tokens and refresh token secrets.
type Tokens struct {
	secret     []byte
	issuer     string
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
}

// NewTokens returns an issuer of HS256 access tokens.
func NewTokens(secret []byte, issuer string, accessTTL, refreshTTL time.Duration) *Tokens {
	return &Tokens{secret: secret, issuer: issuer, accessTTL: accessTTL, refreshTTL: refreshTTL, now: time.Now}
}

// AccessTTL is how long an access token lives.
func (t *Tokens) AccessTTL() time.Duration { return t.accessTTL }

// RefreshTTL is how long a refresh token lives.
func (t *Tokens) RefreshTTL() time.Duration { return t.refreshTTL }

// Issuer is the "iss" claim of every token.
func (t *Tokens) Issuer() string { return t.issuer }

// Secret is the HMAC key (for the verifying middleware).
func (t *Tokens) Secret() []byte { return t.secret }

// Access signs an access token for userID.
func (t *Tokens) Access(userID int64) (string, error) {
	now := t.now()
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	claims := Claims{
		Type: TokenTypeAccess,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			Issuer:    t.issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.accessTTL)),
			ID:        hex.EncodeToString(jti[:]),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// NewOpaque returns a random refresh token secret and the hash under which it is stored.
// The plain value is shown to the client once and never stored.
func NewOpaque() (plain string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	plain = base64.RawURLEncoding.EncodeToString(b[:])
	return plain, HashOpaque(plain)
}

// HashOpaque returns the stored form of an opaque token.
func HashOpaque(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// RandomSecret returns a fresh 32-byte HMAC key.
func RandomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
