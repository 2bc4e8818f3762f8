package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user + system) a process has used; pid 0
// is this process.
func cpuTime(pid int) (time.Duration, error) {
	name := "/proc/self/stat"
	if pid != 0 {
		name = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields count from after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", name)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", name, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad cpu times", name)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// machineBusy returns the CPU time all processes have used, summed over
// the CPUs (everything in /proc/stat's cpu line but idle and iowait).
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected %q", line)
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// cpuMeter measures the CPU that this process (the client), the server
// processes and the whole machine use over a run; what neither the client
// nor the servers used is other load, which makes a figure less certain.
type cpuMeter struct {
	servers []int
	self0   time.Duration
	srv0    []time.Duration
	all0    time.Duration
}

// startCPU starts measuring this process and the servers.
func startCPU(servers ...int) cpuMeter {
	m := cpuMeter{servers: servers, self0: -1, all0: -1}
	if t, err := cpuTime(0); err == nil {
		m.self0 = t
	}
	for _, pid := range servers {
		t, err := cpuTime(pid)
		if err != nil {
			t = -1
		}
		m.srv0 = append(m.srv0, t)
	}
	if t, err := machineBusy(); err == nil {
		m.all0 = t
	}
	return m
}

// note says how many cores the client, the servers (summed) and other
// processes kept busy over elapsed.
func (m cpuMeter) note(elapsed time.Duration) string {
	cores := func(t0, t1 time.Duration) float64 { return (t1 - t0).Seconds() / elapsed.Seconds() }
	var parts []string
	var ours float64
	if t1, err := cpuTime(0); m.self0 >= 0 && err == nil {
		who := "client"
		if len(m.servers) == 0 {
			who = "process"
		}
		ours += cores(m.self0, t1)
		parts = append(parts, fmt.Sprintf("%s %.2f", who, cores(m.self0, t1)))
	}
	if len(m.servers) > 0 {
		srv := 0.0
		for i, pid := range m.servers {
			if t1, err := cpuTime(pid); m.srv0[i] >= 0 && err == nil {
				srv += cores(m.srv0[i], t1)
			}
		}
		ours += srv
		parts = append(parts, fmt.Sprintf("server %.2f", srv))
	}
	if t1, err := machineBusy(); m.all0 >= 0 && err == nil {
		parts = append(parts, fmt.Sprintf("other %.2f", max(cores(m.all0, t1)-ours, 0)))
	}
	return "cores: " + strings.Join(parts, ", ")
}

// procStatus returns a "VmXxx:" field of /proc/<pid>/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// resetPeakRSS resets a process's VmHWM to its current RSS (Linux 4.0+,
// needs the right to write /proc/<pid>/clear_refs).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// diskReadBytes is how many bytes a process has caused to be fetched from
// storage (/proc/<pid>/io read_bytes): reads served by the page cache do
// not count.
func diskReadBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "read_bytes: "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io has no read_bytes", pid)
}

// dropPageCache writes back and evicts a file's pages from the page
// cache, so its next read comes from the disk.
func dropPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise %s: %w", path, err)
	}
	return nil
}

// quietCores is the machine load under which a run may start.
const quietCores = 0.25

// waitQuiet waits up to limit for the machine to have been almost idle
// for half a second, and reports whether it was.
func waitQuiet(ctx context.Context, limit time.Duration) (bool, float64) {
	const window = 500 * time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		b0, err := machineBusy()
		if err != nil {
			return false, 0
		}
		select {
		case <-ctx.Done():
			return false, 0
		case <-time.After(window):
		}
		b1, err := machineBusy()
		if err != nil {
			return false, 0
		}
		busy := (b1 - b0).Seconds() / window.Seconds()
		if busy < quietCores || time.Now().After(deadline) {
			return busy < quietCores, busy
		}
	}
}
