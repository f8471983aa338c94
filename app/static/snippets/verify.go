// Package webhooks verifies Hookline webhook deliveries (Go 1.19+, standard library only).
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance rejects deliveries whose webhook-timestamp is further than this from your clock.
const Tolerance = 5 * time.Minute

// VerifyHooklineSignature checks X-Hookline-Signature: hex HMAC-SHA256 of the raw body,
// keyed by the whole secret. After a secret rotation, X-Hookline-Signature-Previous carries
// the previous secret's signature for the grace period: a receiver still on the old secret
// keeps verifying.
func VerifyHooklineSignature(body []byte, header http.Header, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	for _, name := range []string{"X-Hookline-Signature", "X-Hookline-Signature-Previous"} {
		received := strings.ToLower(strings.TrimSpace(header.Get(name)))
		if received != "" && hmac.Equal([]byte(expected), []byte(received)) {
			return true
		}
	}
	return false
}

// VerifyStandardWebhook checks the webhook-id, webhook-timestamp and webhook-signature headers.
func VerifyStandardWebhook(body []byte, header http.Header, secret string, now time.Time) bool {
	id := header.Get("webhook-id")
	timestamp := header.Get("webhook-timestamp")
	signatures := header.Get("webhook-signature")
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if id == "" || signatures == "" || err != nil {
		return false
	}
	if math.Abs(now.Sub(time.Unix(seconds, 0)).Seconds()) > Tolerance.Seconds() {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// During a secret rotation the header carries one signature per secret.
	for _, candidate := range strings.Fields(signatures) {
		if hmac.Equal([]byte(expected), []byte(candidate)) {
			return true
		}
	}
	return false
}
