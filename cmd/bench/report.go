package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Markdown renders the report: a table per concurrency and the goals of the performance
// issue, each met or missed by how much.
func (r *Report) Markdown() string {
	var b strings.Builder
	mode := "full"
	if r.Config.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "## Benchmark, %s (%s mode)\n\n", r.Started.Format("2006-01-02 15:04 UTC"), mode)
	fmt.Fprintf(&b, "- Machine: %s. Load generator, server and PostgreSQL share it.\n", r.Machine)
	fmt.Fprintf(&b, "- Data: %s.\n", r.Data)
	fmt.Fprintf(&b, "- Each side of each row: as many concurrent clients as the table's concurrency, for %s after %s of warm-up (whole run %s).\n",
		r.Config.Duration, r.Config.Warmup, r.Elapsed.Round(time.Second))
	b.WriteString("- API: HTTP/1.1 keep-alive requests with a bearer token to `crm serve`; the uncached reports go to a second instance with `ANALYTICS_CACHE_TTL=0`. RSS is the serving process's largest VmRSS sampled every 50 ms during the row's API run.\n")
	b.WriteString("- Direct SQL: the same statements the endpoint sends (copied from the stores), through pgx as `crm_app` under row-level security, " +
		"in the same pipelines (scope statement + query) and transactions, one connection per client; rows are read but not decoded. " +
		"API ÷ SQL is the ratio of their throughputs: the distance from the database's own ceiling on this machine.\n")
	if r.Config.Rounds > 1 {
		fmt.Fprintf(&b, "- Every row was measured in %d rounds, API then SQL in turn, and sums them: requests and measured time added, percentiles over all of them (the ratio of each round is listed after the tables).\n", r.Config.Rounds)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s.\n", n)
	}
	if r.SettledKB > 0 {
		fmt.Fprintf(&b, "- Server RSS before the first row: %s MB (the uncached instance: %s MB), after %s of light load to let it return the garbage of its start and of the harness's login (argon2id: 19 MiB a hash; an idle Go process keeps it until a collection).\n",
			mb(r.SettledKB), mb(r.UncachedSettledKB), r.Settled.Round(100*time.Millisecond))
	}
	if r.HWMKB > 0 {
		fmt.Fprintf(&b, "- Server peak RSS over its life (VmHWM): %s MB", mb(r.HWMKB))
		if r.UncachedHWMKB > 0 {
			fmt.Fprintf(&b, "; the uncached instance: %s MB", mb(r.UncachedHWMKB))
		}
		b.WriteString(".\n")
	}
	concs := []int{}
	for _, res := range r.Results {
		if !slices.Contains(concs, res.Concurrency) {
			concs = append(concs, res.Concurrency)
		}
	}
	for _, c := range concs {
		fmt.Fprintf(&b, "\n### Concurrency %d\n\n", c)
		b.WriteString("| operation | API req/s | p50 ms | p95 ms | p99 ms | errors | SQL req/s | SQL p50 ms | SQL p99 ms | API ÷ SQL | RSS MB |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, res := range r.Results {
			if res.Concurrency != c {
				continue
			}
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |", res.Op, res.API.RPS(), msf(res.API.P50), msf(res.API.P95), msf(res.API.P99),
				errs(res.API))
			if res.SQL != nil {
				fmt.Fprintf(&b, " %.0f | %s | %s | %.2f |", res.SQL.RPS(), msf(res.SQL.P50), msf(res.SQL.P99), res.Ratio())
			} else {
				b.WriteString(" – | – | – | – |")
			}
			fmt.Fprintf(&b, " %s |\n", mb(res.RSSPeakKB))
		}
	}
	if r.Config.Rounds > 1 {
		b.WriteString("\n### API ÷ SQL of each round\n\n| operation | concurrency | rounds |\n|---|---:|---|\n")
		for _, res := range r.Results {
			if len(res.RoundRatios) == 0 {
				continue
			}
			rs := make([]string, len(res.RoundRatios))
			for i, x := range res.RoundRatios {
				rs[i] = fmt.Sprintf("%.2f", x)
			}
			fmt.Fprintf(&b, "| %s | %d | %s |\n", res.Op, res.Concurrency, strings.Join(rs, ", "))
		}
	}
	if d := r.Delivery; d != nil {
		b.WriteString("\n### Webhook delivery latency\n\n")
		fmt.Fprintf(&b, "A webhook endpoint of the organization, subscribed to `deal.updated`, on a receiver on a loopback port; %d PATCHes of a deal's stage one at a time, "+
			"each once the previous delivery had arrived and 100 ms later (an idle queue), after one unrecorded write. "+
			"Latency: from the PATCH's response (its transaction had committed) to the receiver having the delivery's request headers; "+
			"from the PATCH's request, which precedes the commit, in the last two columns.\n\n", d.Writes)
		b.WriteString("| writes | delivered | p50 ms | p95 ms | p99 ms | max ms | from request p50 ms | from request p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s |\n", d.Writes, d.Delivered, msf(d.P50), msf(d.P95), msf(d.P99), msf(d.Max),
			msf(d.FromRequestP50), msf(d.FromRequestP99))
	}
	if r.FeedPlan != "" {
		b.WriteString("\n### Plan of the events feed page\n\n`EXPLAIN (ANALYZE, BUFFERS)` of the page's statement from the benchmark's cursor, as `crm_app` scoped to the organization, before the run:\n\n```\n")
		b.WriteString(r.FeedPlan)
		b.WriteString("\n```\n")
	}
	var firstErrs []string
	for _, res := range r.Results {
		if res.API.FirstError != "" {
			firstErrs = append(firstErrs, fmt.Sprintf("%s (c=%d, API): %s", res.Op, res.Concurrency, res.API.FirstError))
		}
		if res.SQL != nil && res.SQL.FirstError != "" {
			firstErrs = append(firstErrs, fmt.Sprintf("%s (c=%d, SQL): %s", res.Op, res.Concurrency, res.SQL.FirstError))
		}
	}
	if r.Delivery != nil && r.Delivery.FirstError != "" {
		firstErrs = append(firstErrs, fmt.Sprintf("%s: %s", deliveryOp, r.Delivery.FirstError))
	}
	if len(firstErrs) > 0 {
		b.WriteString("\nFirst error of each row with errors:\n\n")
		for _, e := range firstErrs {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(e, "\n", " "))
		}
	}
	if g := r.goals(); g != "" {
		b.WriteString("\n### Goals\n\n")
		b.WriteString(g)
	}
	return b.String()
}

// readOps are the list and get endpoints the latency and throughput goals are about.
var readOps = []string{"list deals, first page", "list deals, deep page by offset", "list deals, deep page by cursor",
	"get deal", "list open tasks, first page", "deal timeline, first page"}

func (r *Report) find(op string, conc int) (Result, bool) {
	for _, res := range r.Results {
		if res.Op == op && res.Concurrency == conc {
			return res, true
		}
	}
	return Result{}, false
}

func (r *Report) goals() string {
	var b strings.Builder
	b.WriteString("| goal | operation | measured | verdict |\n|---|---|---|---|\n")
	rows := 0
	row := func(goal, op, measured string, met bool, miss string) {
		rows++
		verdict := "met"
		if !met {
			verdict = "**missed**: " + miss
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", goal, op, measured, verdict)
	}
	for _, op := range readOps {
		if res, ok := r.find(op, 4); ok {
			p50, p99 := ms(res.API.P50), ms(res.API.P99)
			var miss []string
			if p50 > 3 {
				miss = append(miss, "p50 "+times(p50/3))
			}
			if p99 > 20 {
				miss = append(miss, "p99 "+times(p99/20))
			}
			row("p50 ≤ 3 ms, p99 ≤ 20 ms at c=4", op, fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", p50, p99), len(miss) == 0, strings.Join(miss, ", "))
		}
	}
	for _, op := range readOps {
		if res, ok := r.find(op, 32); ok && res.SQL != nil {
			row("≥ 60% of direct SQL at c=32", op, fmt.Sprintf("%.0f%%", 100*res.Ratio()), res.Ratio() >= 0.6,
				fmt.Sprintf("%.0f points short", 100*(0.6-res.Ratio())))
		}
	}
	low := 0
	for _, res := range r.Results {
		if low == 0 || res.Concurrency < low {
			low = res.Concurrency
		}
	}
	for _, op := range []string{"summary (uncached)", "funnel (uncached)"} {
		if res, ok := r.find(op, low); ok {
			p50 := ms(res.API.P50)
			row(fmt.Sprintf("uncached p50 ≤ 50 ms (c=%d)", low), op, fmt.Sprintf("p50 %.2f ms", p50), p50 <= 50, times(p50/50))
		}
	}
	for _, op := range []string{"summary (cached)", "funnel (cached)"} {
		if res, ok := r.find(op, low); ok {
			p99 := ms(res.API.P99)
			row(fmt.Sprintf("cached p99 ≤ 2 ms (c=%d)", low), op, fmt.Sprintf("p99 %.2f ms", p99), p99 <= 2, times(p99/2))
		}
	}
	if res, ok := r.find(feedPageOp, 4); ok {
		p99 := ms(res.API.P99)
		row("feed page p99 ≤ 20 ms at c=4", feedPageOp, fmt.Sprintf("p99 %.2f ms", p99), p99 <= 20, times(p99/20))
	}
	if d := r.Delivery; d != nil && d.Writes > 0 {
		met := d.Delivered == d.Writes && d.P99 <= time.Second
		miss := times(float64(d.P99) / float64(time.Second))
		if d.Delivered < d.Writes {
			miss = fmt.Sprintf("%d of %d writes not delivered within 10 s", d.Writes-d.Delivered, d.Writes)
		}
		row("delivery starts ≤ 1 s after commit, idle queue", deliveryOp, fmt.Sprintf("p99 %s ms of %d", msf(d.P99), d.Writes), met, miss)
	}
	for _, res := range r.Results {
		if res.Op == "PATCH deal stage (+ activity)" && res.SQL != nil {
			row(fmt.Sprintf("≥ 50%% of the direct-SQL transaction (c=%d)", res.Concurrency), res.Op, fmt.Sprintf("%.0f%%", 100*res.Ratio()),
				res.Ratio() >= 0.5, fmt.Sprintf("%.0f points short", 100*(0.5-res.Ratio())))
		}
	}
	for _, login := range []bool{false, true} {
		var peak int64
		peakOp := ""
		for _, res := range r.Results {
			if res.RSSPeakKB > peak && (res.Op == "login") == login {
				peak, peakOp = res.RSSPeakKB, fmt.Sprintf("%s, c=%d", res.Op, res.Concurrency)
			}
		}
		goal := "server RSS under load ≤ 150 MB, every operation but login"
		if login {
			goal = "server RSS under load ≤ 150 MB, login (argon2id, 19 MiB a hash)"
		}
		if peak > 0 {
			row(goal, "largest sample ("+peakOp+")", mb(peak)+" MB", peak <= 150*1024, fmt.Sprintf("%s MB over", mb(peak-150*1024)))
		}
	}
	if rows == 0 {
		return ""
	}
	return b.String()
}

// times says how far over a target a measure is.
func times(f float64) string {
	if f < 10 {
		return fmt.Sprintf("%.2f× the target", f)
	}
	return fmt.Sprintf("%.0f× the target", f)
}

func msf(d time.Duration) string {
	v := ms(d)
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func errs(s Stats) string {
	if s.Errors == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d**", s.Errors)
}

func mb(kb int64) string {
	if kb <= 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(kb)/1024, 'f', 0, 64)
}

// procStatusKB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status; 0 when unknown.
func procStatusKB(pid int, field string) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		return n
	}
	return 0
}

// machine describes the host: CPU, cores, memory, PostgreSQL and Go.
func machine(pgVersion string) string {
	cpu, mem := "unknown CPU", ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if name, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(name) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if kb := procMemTotalKB(); kb > 0 {
		mem = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/1024/1024)
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s, PostgreSQL %s, %s", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, pgVersion, runtime.Version())
}

func procMemTotalKB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
