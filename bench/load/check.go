package load

import "fmt"

// Check compares a figure with a baseline figure (a ratio) or with an
// absolute bound.
type Check struct {
	// Key is the figure checked.
	Key string
	// Against is the baseline figure; empty compares the value itself.
	Against string
	// Op is ">=", "<=", "<" or "=="; empty shows the ratio without a
	// target.
	Op string
	// Target is the ratio (with Against) or the bound, in the figure's
	// unit.
	Target float64
}

const (
	resultPass = "pass"
	resultMiss = "MISS"
	resultInfo = "info"
	resultNA   = "n/a"
)

// checked is one check applied, as table cells.
type checked struct {
	baseline, baseValue, ratio, target, result string
}

// versus names the baseline for the summary line.
func (c checked) versus() string {
	if c.baseline == "" {
		return " " + c.target
	}
	return " vs " + c.baseline + " " + c.target
}

func (c Check) apply(f Figure, r *Report) checked {
	if c.Against == "" {
		return checked{target: c.Op + " " + f.Unit.format(c.Target), result: verdict(c.Op, f.Value, c.Target)}
	}
	out := checked{target: "-", result: resultInfo}
	if c.Op != "" {
		out.target = fmt.Sprintf("%s %gx", c.Op, c.Target)
	}
	b, ok := r.Figure(c.Against)
	if !ok {
		out.baseline, out.baseValue, out.result = c.Against, "not run", resultNA
		return out
	}
	out.baseline, out.baseValue = b.Name, b.Unit.format(b.Value)
	if b.Value == 0 {
		out.ratio, out.result = "-", resultNA
		return out
	}
	ratio := f.Value / b.Value
	out.ratio = fmt.Sprintf("%.2fx", ratio)
	if c.Op != "" {
		out.result = verdict(c.Op, ratio, c.Target)
	}
	return out
}

func verdict(op string, v, target float64) string {
	ok := false
	switch op {
	case ">=":
		ok = v >= target
	case "<=":
		ok = v <= target
	case "<":
		ok = v < target
	case "==":
		ok = v == target
	default:
		return resultInfo
	}
	if ok {
		return resultPass
	}
	return resultMiss
}
