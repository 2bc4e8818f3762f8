package load

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Unit is how a figure's value reads.
type Unit int

// The units of figures.
const (
	MBps         Unit = iota // decimal megabytes per second
	ReqPS                    // requests per second
	Millis                   // milliseconds
	BlobsPS                  // blobs per second
	MiB                      // mebibytes
	Count                    // a plain count
	Copies                   // copies of a blob, fractional
	Percent                  // percent
	ChallengesPS             // audit challenges per second
	AuditsPS                 // audits recorded per second
)

func (u Unit) format(v float64) string {
	switch u {
	case MBps:
		return fmt.Sprintf("%.1f MB/s", v)
	case ReqPS:
		return thousands(v) + " req/s"
	case Millis:
		return fmt.Sprintf("%.2f ms", v)
	case BlobsPS:
		return thousands(v) + " blobs/s"
	case MiB:
		return fmt.Sprintf("%.1f MiB", v)
	case Copies:
		return fmt.Sprintf("%.2f copies", v)
	case Percent:
		return fmt.Sprintf("%.1f %%", v)
	case ChallengesPS:
		return thousands(v) + " challenges/s"
	case AuditsPS:
		return thousands(v) + " audits/s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// thousands formats v rounded, with thin separators: 25,103.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Figure is one measured number.
type Figure struct {
	Key   string // stable id that checks refer to, such as "bare.small.rps"
	Name  string // what the table shows
	Value float64
	Unit  Unit
	Note  string // how it was measured: CPU use, bytes read from disk, ...
}

// Report collects figures and failures and prints them with the checks. A
// figure measured in several rounds reports the median of its values.
type Report struct {
	checks  []Check
	figures []*series
	failed  []failure
}

// series is every value of one figure, the last note kept.
type series struct {
	Figure
	values []float64
}

func (s *series) figure() Figure {
	f := s.Figure
	f.Value = median(s.values)
	if n := len(s.values); n > 1 {
		lo, hi := slices.Min(s.values), slices.Max(s.values)
		f.Note = strings.TrimSuffix(fmt.Sprintf("%d rounds %s..%s; %s", n, f.Unit.format(lo), f.Unit.format(hi), f.Note), "; ")
	}
	return f
}

type failure struct {
	name string
	err  error
}

// NewReport returns a report that will apply checks.
func NewReport(checks []Check) *Report { return &Report{checks: checks} }

// Add records a figure, or one more value of it.
func (r *Report) Add(f Figure) {
	for _, s := range r.figures {
		if s.Key == f.Key {
			s.values = append(s.values, f.Value)
			s.Note = f.Note
			return
		}
	}
	r.figures = append(r.figures, &series{Figure: f, values: []float64{f.Value}})
}

// Fail records that a measurement could not complete.
func (r *Report) Fail(name string, err error) { r.failed = append(r.failed, failure{name, err}) }

// Failures is the number of measurement runs that did not complete.
func (r *Report) Failures() int { return len(r.failed) }

// Figure returns the figure with key, if it was measured.
func (r *Report) Figure(key string) (Figure, bool) {
	for _, s := range r.figures {
		if s.Key == key {
			return s.figure(), true
		}
	}
	return Figure{}, false
}

// baseline reports whether some check compares against key.
func (r *Report) baseline(key string) bool {
	for _, c := range r.checks {
		if c.Against == key {
			return true
		}
	}
	return false
}

// Print writes the table: one row per figure, and one more per further
// check of that figure; then the failures and a summary.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tBASELINE\tBASELINE VALUE\tRATIO\tTARGET\tRESULT\tNOTE")
	var pass, miss []string
	for _, fs := range r.figures {
		f := fs.figure()
		name, value, note := f.Name, f.Unit.format(f.Value), f.Note
		row := func(cells ...string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, value, strings.Join(cells, "\t"), note)
			name, value, note = "", "", ""
		}
		checked := false
		for _, c := range r.checks {
			if c.Key != f.Key {
				continue
			}
			checked = true
			res := c.apply(f, r)
			row(res.baseline, res.baseValue, res.ratio, res.target, res.result)
			switch res.result {
			case resultPass:
				pass = append(pass, f.Name+res.versus())
			case resultMiss:
				miss = append(miss, f.Name+res.versus())
			}
		}
		if !checked {
			role := "info"
			if r.baseline(f.Key) {
				role = "baseline"
			}
			row("", "", "", "", role)
		}
	}
	tw.Flush()
	for _, fl := range r.failed {
		fmt.Fprintf(w, "\nERROR %s: %v\n", fl.name, fl.err)
	}
	fmt.Fprintf(w, "\n%d checks pass, %d miss", len(pass), len(miss))
	if len(miss) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(miss, "; "))
	}
	fmt.Fprintln(w)
}

// joinNotes joins the non-empty parts of a note.
func joinNotes(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// sizeName formats a power-of-two size: 4 KiB, 256 MiB, 1 GiB.
func sizeName(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
