package identity

import (
	"crypto/ed25519"
	"testing"
)

func TestID(t *testing.T) {
	seedPub := ed25519.NewKeyFromSeed(testSeed()).Public().(ed25519.PublicKey)
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		want string
	}{
		// Vectors computed independently (padded base32, padding stripped).
		{"seed 0..31", seedPub, "kzdvvj2umnduyauf35o36k6kw4"},
		{"all zero key", make(ed25519.PublicKey, ed25519.PublicKeySize), "mzuhvlpymk6xo3epygfy5h4oea"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ID(tt.pub)
			if got != tt.want {
				t.Errorf("ID = %q, want %q", got, tt.want)
			}
			if again := ID(append(ed25519.PublicKey(nil), tt.pub...)); again != got {
				t.Errorf("ID not stable: %q then %q", got, again)
			}
			if !validID(got) {
				t.Errorf("validID(%q) = false", got)
			}
		})
	}

	t.Run("random keys are well-formed and distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for range 50 {
			id := ID(newKey(t).Public().(ed25519.PublicKey))
			if len(id) != 26 || !validID(id) {
				t.Fatalf("malformed id %q", id)
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	})
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"good", "kzdvvj2umnduyauf35o36k6kw4", true},
		{"empty", "", false},
		{"too short", "kzdvvj2umnduyauf35o36k6kw", false},
		{"too long", "kzdvvj2umnduyauf35o36k6kw4a", false},
		{"uppercase", "KZDVVJ2UMNDUYAUF35O36K6KW4", false},
		{"digit outside alphabet", "kzdvvj2umnduyauf35o36k6kw1", false},
		{"slash", "kzdvvj2umnduyauf35o36k6k/4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validID(tt.id); got != tt.want {
				t.Errorf("validID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}
