package registry

import "testing"

func TestNodeRepScore(t *testing.T) {
	tests := []struct {
		name        string
		rep         NodeRep
		score, unkn float64
	}{
		{"new node", NewNodeRep("n"), 1, 1},
		{"three to one", NodeRep{Alpha: 3, Beta: 1, UnknownAlpha: 1, UnknownBeta: 3}, 0.75, 0.25},
		{"only failures", NodeRep{Beta: 2, UnknownBeta: 2}, 0, 0},
		{"no evidence", NodeRep{}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rep.Score(); got != tc.score {
				t.Errorf("Score = %v, want %v", got, tc.score)
			}
			if got := tc.rep.UnknownScore(); got != tc.unkn {
				t.Errorf("UnknownScore = %v, want %v", got, tc.unkn)
			}
		})
	}
}
