package webhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// verifyStandardWebhook is written from the Standard Webhooks specification, independently of
// the signer: the signed content is "{webhook-id}.{webhook-timestamp}.{body}", the key is the
// base64 after "whsec_", and the header holds space-separated "v1,<base64 HMAC-SHA256>"
// entries, of which one must match.
func verifyStandardWebhook(secret, id, timestamp string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Split(header, " ") {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func TestSecretsHaveTheStandardForm(t *testing.T) {
	t.Parallel()
	a, b := newSecret(), newSecret()
	if a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secrets %q %q", a, b)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if err != nil || len(raw) != 24 {
		t.Fatalf("decoded %d bytes, %v", len(raw), err)
	}
}

func TestSignaturesVerifyIndependently(t *testing.T) {
	t.Parallel()
	cur, prev := newSecret(), newSecret()
	body := []byte(`{"id":"7","type":"deal.updated"}`)
	header, err := signatures([]string{cur, prev}, "7", 1700000000, body)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(header, " ")
	if len(parts) != 2 {
		t.Fatalf("header %q", header)
	}
	for _, s := range []string{cur, prev} {
		if !verifyStandardWebhook(s, "7", "1700000000", body, header) {
			t.Errorf("secret %s does not verify %q", s, header)
		}
		if verifyStandardWebhook(s, "7", "1700000001", body, header) || verifyStandardWebhook(s, "8", "1700000000", body, header) ||
			verifyStandardWebhook(s, "7", "1700000000", append(bytes.Clone(body), ' '), header) {
			t.Error("a changed timestamp, id or body verifies")
		}
	}
	if verifyStandardWebhook(newSecret(), "7", "1700000000", body, header) {
		t.Error("another secret verifies")
	}
	// The example of the specification's reference libraries.
	const specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	got, _ := signatures([]string{specSecret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("specification example: %s, want %s", got, want)
	}
}

func TestSealedSecretsOpenOnlyWithTheirKey(t *testing.T) {
	t.Parallel()
	s := newSealer([]byte("an application secret of enough length"))
	secret := newSecret()
	sealed := s.seal(secret)
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte(strings.TrimPrefix(secret, "whsec_"))) {
		t.Fatal("the sealed form contains the secret")
	}
	if got, err := s.open(sealed); err != nil || got != secret {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := newSealer([]byte("another secret")).open(sealed); err == nil {
		t.Fatal("another key opens the secret")
	}
	if string(s.seal(secret)) == string(sealed) {
		t.Fatal("two seals of one secret are equal (nonce reused)")
	}
}
