// Verify Hookline webhook deliveries (Node.js 16+, no dependencies).
const crypto = require("node:crypto");

// Reject deliveries whose webhook-timestamp is further than this from your clock (replays).
const TOLERANCE_SECONDS = 5 * 60;

function safeEqual(expected, received) {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(received, "utf8");
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// X-Hookline-Signature: hex HMAC-SHA256 of the raw body (a Buffer), keyed by the whole secret
// (`headers` with lower-case names, as Node's http module gives them). After a secret
// rotation, X-Hookline-Signature-Previous carries the previous secret's signature for the
// grace period: a receiver still on the old secret keeps verifying.
function verifyHooklineSignature(body, headers, secret) {
  const expected = crypto.createHmac("sha256", secret).update(body).digest("hex");
  return ["X-Hookline-Signature", "X-Hookline-Signature-Previous"].some((name) => {
    const received = String(headers[name.toLowerCase()] || "").trim().toLowerCase();
    return received !== "" && safeEqual(expected, received);
  });
}

// Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers
// (`headers` with lower-case names, as Node's http module gives them).
function verifyStandardWebhook(body, headers, secret, now = Date.now() / 1000) {
  const id = headers["webhook-id"] || "";
  const timestamp = headers["webhook-timestamp"] || "";
  const signatures = headers["webhook-signature"] || "";
  if (!id || !/^\d+$/.test(timestamp) || !signatures) {
    return false;
  }
  if (Math.abs(now - Number(timestamp)) > TOLERANCE_SECONDS) {
    return false;
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = "v1," + crypto.createHmac("sha256", key)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest("base64");
  // During a secret rotation the header carries one signature per secret.
  return signatures.split(" ").some((candidate) => safeEqual(expected, candidate));
}

module.exports = { verifyHooklineSignature, verifyStandardWebhook, TOLERANCE_SECONDS };
