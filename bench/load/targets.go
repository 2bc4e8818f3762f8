package load

// Figure keys. The baselines come first, then dStor's figures.
const (
	keyQ1          = "q1"
	keyQ1InProcess = "q1.inprocess"

	keyBareSmallRPS = "bare.small.rps"
	keyBareSmallP50 = "bare.small.p50"
	keyBareSmallP99 = "bare.small.p99"
	keyBareBig      = "bare.big.mbps"
	keyBareBigTTFB  = "bare.big.ttfb"

	keyCaddySmallRPS = "caddy.small.rps"
	keyCaddySmallP50 = "caddy.small.p50"
	keyCaddySmallP99 = "caddy.small.p99"
	keyCaddyBig      = "caddy.big.mbps"
	keyCaddyBigTTFB  = "caddy.big.ttfb"

	keyCachedSmallRPS = "cached.small.rps"
	keyCachedSmallP50 = "cached.small.p50"
	keyCachedSmallP99 = "cached.small.p99"
	keyCachedBig      = "cached.big.mbps"
	keyCachedBigTTFB  = "cached.big.ttfb"

	keyCold = "cold.mbps"

	keyFetch       = "fetch.mbps"
	keyFetchTTFB   = "fetch.ttfb"
	keyFetchCount  = "fetch.count"
	keyFetchShared = "fetch.shared.mbps"

	keyRSS = "rss.hwm"

	keyWritesGateway = "writes.gateway"
	keyWritesCommits = "writes.gateway.commits"
	keyWritesNode    = "writes.node"

	// Issue 4.
	keyBareRedirectRPS = "bare.redirect.rps"
	keyBareRedirectP50 = "bare.redirect.p50"
	keyBareRedirectP99 = "bare.redirect.p99"
	keyRedirectRPS     = "redirect.rps"
	keyRedirectP50     = "redirect.p50"
	keyRedirectP99     = "redirect.p99"
	keyRedirectManyRPS = "redirect.many.rps"
	keyRedirectManyP50 = "redirect.many.p50"
	keyRedirectManyP99 = "redirect.many.p99"
	keyIngest          = "ingest.mbps"
	keyIngestCopies    = "ingest.copies"
	keyIngestHash      = "ingest.hash.share"
	keyBlake3          = "blake3.mbps"

	// Issue 5.
	keyAuditRaw       = "audit.raw"
	keyAuditRawP50    = "audit.raw.p50"
	keyAuditRawP99    = "audit.raw.p99"
	keyAuditAnswerP99 = "audit.answer.p99"
	keyAuditFull      = "audit.full"
)

// Targets are issue 3's figures to reach, plus ratios shown for context
// (no Op). The resident-memory bound depends on the measured node's cache
// budget.
func Targets(cfg Config) []Check {
	rssBound := float64(cfg.CacheBytes+256<<20) / (1 << 20)
	return []Check{
		{Key: keyBareBig, Against: keyQ1},
		{Key: keyQ1, Against: keyQ1InProcess},
		{Key: keyCaddySmallRPS, Against: keyBareSmallRPS},
		{Key: keyCaddyBig, Against: keyBareBig},

		{Key: keyCachedSmallRPS, Against: keyBareSmallRPS, Op: ">=", Target: 0.9},
		{Key: keyCachedSmallRPS, Against: keyCaddySmallRPS, Op: ">=", Target: 1.5},
		{Key: keyCachedSmallP50, Against: keyBareSmallP50},
		{Key: keyCachedSmallP99, Op: "<", Target: 8},
		{Key: keyCachedSmallP99, Against: keyBareSmallP99},
		{Key: keyCachedBig, Against: keyBareBig, Op: ">=", Target: 0.9},
		{Key: keyCachedBig, Against: keyCaddyBig, Op: ">=", Target: 3},
		{Key: keyCachedBigTTFB, Against: keyBareBigTTFB},

		{Key: keyCold, Against: keyQ1, Op: ">=", Target: 0.8},
		{Key: keyCold, Against: keyQ1InProcess},
		{Key: keyCold, Against: keyBareBig},

		{Key: keyFetch, Against: keyQ1, Op: ">=", Target: 0.45},
		{Key: keyFetch, Against: keyQ1InProcess},
		{Key: keyFetchTTFB, Against: keyCachedBigTTFB, Op: "<=", Target: 3},
		{Key: keyFetchCount, Op: "==", Target: 1},

		{Key: keyRSS, Op: "<=", Target: rssBound},

		{Key: keyWritesNode, Op: ">=", Target: 2500},

		// Issue 4: redirects at 0.8x a bare fixed 307; ingest at 0.8 x
		// Q1/(W+1), every copy crossing QUIC on the same cores; about W
		// copies sent by the gateway (at most W+1); hashing under 10 %.
		{Key: keyRedirectRPS, Against: keyBareRedirectRPS, Op: ">=", Target: 0.8},
		{Key: keyRedirectP50, Against: keyBareRedirectP50},
		{Key: keyRedirectP99, Against: keyBareRedirectP99},
		{Key: keyRedirectManyRPS, Against: keyBareRedirectRPS, Op: ">=", Target: 0.8},
		{Key: keyRedirectManyP50, Against: keyBareRedirectP50},
		{Key: keyRedirectManyP99, Against: keyBareRedirectP99},
		{Key: keyIngest, Against: keyQ1, Op: ">=", Target: 0.8 / (ingestWrites + 1)},
		{Key: keyIngest, Against: keyQ1InProcess},
		{Key: keyIngestCopies, Op: "<=", Target: ingestWrites + 1},
		{Key: keyIngestHash, Op: "<", Target: 10},

		// Issue 5: one auditd sustains 2,000 challenges/s against the
		// loopback cluster; a node answers from disk in under 5 ms p99.
		{Key: keyAuditRaw, Op: ">=", Target: 2000},
		{Key: keyAuditAnswerP99, Op: "<", Target: 5},
		{Key: keyAuditFull, Op: ">=", Target: 2000},
		{Key: keyAuditFull, Against: keyAuditRaw},
	}
}
