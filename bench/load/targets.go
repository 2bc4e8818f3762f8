package load

// Figure keys. The baselines come first, then dStor's figures.
const (
	keyQ1 = "q1"

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
)

// Targets are issue 3's figures to reach, plus ratios shown for context
// (no Op). The resident-memory bound depends on the measured node's cache
// budget.
func Targets(cfg Config) []Check {
	rssBound := float64(cfg.CacheBytes+256<<20) / (1 << 20)
	return []Check{
		{Key: keyBareBig, Against: keyQ1},
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

		{Key: keyFetch, Against: keyQ1, Op: ">=", Target: 0.45},
		{Key: keyFetchTTFB, Against: keyCachedBigTTFB, Op: "<=", Target: 3},
		{Key: keyFetchCount, Op: "==", Target: 1},

		{Key: keyRSS, Op: "<=", Target: rssBound},

		{Key: keyWritesNode, Op: ">=", Target: 2500},
	}
}
